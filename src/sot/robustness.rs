//! No input can make the SoT parser panic or hang: a property test over arbitrary bytes
//! and Markdown-shaped noise, and a regression corpus of known-nasty inputs.

#[cfg(test)]
mod tests {

    use proptest::prelude::*;

    use crate::sot::{parse, IdPattern};
    use crate::source::SourceFile;

    fn plan_bytes(bytes: Vec<u8>) {
        if let Ok(src) = SourceFile::from_bytes("sot.md".into(), bytes) {
            let _ = parse(&src, &IdPattern::default());
        }
    }

    fn markdownish() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "# ",
            "## Queue A — x\n",
            "- ",
            "- [x] ",
            "- [ ] ",
            "1. ",
            "**Queue B — y**",
            "`TASK-1`",
            "`TASK-2`",
            " — after ",
            ", ",
            "\n",
            "\n\n",
            "```",
            "~~~",
            "<!--",
            "-->",
            "| a |\n|---|\n",
            "> ",
            "   ",
            "\t",
            "### G. Execution Queue & Task Hooks\n",
            "Tasks: ",
            "`TASK-001`",
            "\r\n",
            "\u{feff}",
            "\0",
            "[",
            "](",
            "<details>",
        ]);
        prop::collection::vec(pieces, 0..64).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            plan_bytes(bytes);
        }

        #[test]
        fn markdown_shaped_noise_never_panics(text in markdownish()) {
            plan_bytes(text.into_bytes());
        }
    }

    #[test]
    fn regression_corpus() {
        let deep = "- ".repeat(5000) + "`TASK-1` x\n";
        let quotes = "> ".repeat(5000) + "- `TASK-1`\n";
        let long_line = "## Q\n- `TASK-1` ".to_owned() + &"a".repeat(10 * 1024 * 1024) + "\n";
        let corpus: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\xef\xbb\xbf## Q\n- `TASK-1` bom\n".to_vec(),
            b"## Q\r\n- `TASK-1` crlf\r\n- `TASK-2` b \xe2\x80\x94 after `TASK-1`\r\n".to_vec(),
            b"## Q\n- `TASK-1` nul \0 byte\n".to_vec(),
            long_line.into_bytes(),
            deep.into_bytes(),
            quotes.into_bytes(),
            b"## Q\n```\n- `TASK-1` in an unterminated fence\n".to_vec(),
            b"## Q\n- `TASK-1` @user $(rm -rf /) </details> <!-- `TASK-2`\n".to_vec(),
        ];
        for input in corpus {
            plan_bytes(input);
        }
        // Ids in code blocks are not tasks; hostile titles are kept as plain text.
        let src = SourceFile::from_bytes(
            "s".into(),
            b"## Q\n```\n- `TASK-9` x\n```\n- `TASK-1` @user $(id) </details>\n".to_vec(),
        )
        .unwrap();
        let doc = parse(&src, &IdPattern::default()).unwrap();
        let tasks: Vec<_> = doc
            .tasks()
            .map(|(_, t)| (t.id.clone(), t.title.clone()))
            .collect();
        assert_eq!(
            tasks,
            [("TASK-1".to_owned(), "@user $(id) </details>".to_owned())]
        );
    }
}
