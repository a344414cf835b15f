//! Shard simulation and replay (`cargo bench --bench shards`).
//!
//! 1. Simulation: a generated, realistic 200-task plan (crates whose build → test → doc
//!    chains sometimes wait for another crate's build, three long end-to-end tasks, and
//!    ~150 independent checks with heavy-tailed durations), split for N = 2, 4, 8 jobs of
//!    `WORKERS` workers by cargo-tek, round-robin, nextest-style hash and moon-style
//!    chunking. The three baselines know no dependencies, so each job must also run what
//!    its tasks wait for (as moon does): the tasks that then run twice are counted. Each
//!    shard is shown with the model's estimate and a list-scheduling simulation of the
//!    scheduler (longest remaining chain first).
//! 2. Replay: the same plan with every task a `sleep` of its duration scaled down
//!    (`REPLAY_SCALE`), planned with `cargo tek plan --shards N --durations`, then each
//!    shard run for real with `cargo tek run --plan --shard K/N`, one after another:
//!    measured against predicted per-shard time. `SKIP_REPLAY=1` skips it.

// A benchmark's report is its standard output; the rule that only `output` prints is
// about the tool itself.
#![allow(clippy::disallowed_macros)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use cargo_tek::shard_split::{split, Dag};

const WORKERS: usize = 2;
const TASKS: usize = 200;

/// A small deterministic generator (xorshift64*), so every run sees the same plan.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// Heavy-tailed: mostly short, sometimes several times longer.
    fn tail(&mut self, base: u64) -> u64 {
        let r = self.range(1, 100);
        match r {
            1..=70 => self.range(base / 2, base),
            71..=95 => self.range(base, base * 3),
            _ => self.range(base * 3, base * 8),
        }
    }
}

struct Task {
    id: String,
    queue: String,
    after: Vec<usize>,
    ms: u64,
}

/// The 200-task plan.
fn generate() -> Vec<Task> {
    let mut rng = Rng(0x5eed_cafe);
    let mut tasks: Vec<Task> = Vec::new();
    let push = |tasks: &mut Vec<Task>, queue: &str, after: Vec<usize>, ms: u64| {
        let id = format!("TASK-{:03}", tasks.len() + 1);
        tasks.push(Task {
            id,
            queue: queue.to_owned(),
            after,
            ms,
        });
        tasks.len() - 1
    };
    let mut builds = Vec::new();
    for c in 0..20 {
        // Every fourth crate builds on the previous one: longer chains.
        let after = if c % 4 == 3 {
            vec![builds[c - 1]]
        } else {
            vec![]
        };
        let build = push(&mut tasks, "Build", after, rng.range(30_000, 90_000));
        builds.push(build);
        let test = push(&mut tasks, "Test", vec![build], rng.tail(40_000));
        if c % 2 == 0 {
            push(&mut tasks, "Docs", vec![test], rng.range(10_000, 30_000));
        }
    }
    // Three long end-to-end suites, two of them after a build.
    push(
        &mut tasks,
        "E2E",
        vec![builds[0]],
        rng.range(480_000, 900_000),
    );
    push(
        &mut tasks,
        "E2E",
        vec![builds[5]],
        rng.range(480_000, 900_000),
    );
    push(&mut tasks, "E2E", vec![], rng.range(300_000, 600_000));
    while tasks.len() < TASKS {
        push(&mut tasks, "Checks", vec![], rng.tail(15_000));
    }
    tasks
}

fn dag(tasks: &[Task]) -> Dag {
    Dag {
        weights: tasks.iter().map(|t| t.ms).collect(),
        prerequisites: tasks.iter().map(|t| t.after.clone()).collect(),
        keys: tasks.iter().map(|t| t.id.clone()).collect(),
        runs: vec![true; tasks.len()],
        ..Dag::default()
    }
}

/// A job's tasks: those assigned, plus everything they wait for (a job that does not
/// know the graph must still run a dependency before its dependent).
fn closure(tasks: &[Task], assigned: &[usize]) -> BTreeSet<usize> {
    let mut set: BTreeSet<usize> = BTreeSet::new();
    let mut stack: Vec<usize> = assigned.to_vec();
    while let Some(t) = stack.pop() {
        if set.insert(t) {
            stack.extend(&tasks[t].after);
        }
    }
    set
}

/// The model's estimate of a job: max(longest chain, work / workers).
fn estimate(tasks: &[Task], set: &BTreeSet<usize>) -> u64 {
    let mut finish = vec![0u64; tasks.len()];
    let mut longest = 0;
    // Prerequisites always have smaller indices here.
    for &t in set {
        let start = tasks[t].after.iter().map(|&p| finish[p]).max().unwrap_or(0);
        finish[t] = start + tasks[t].ms;
        longest = longest.max(finish[t]);
    }
    let work: u64 = set.iter().map(|&t| tasks[t].ms).sum();
    longest.max(work.div_ceil(WORKERS as u64))
}

/// List scheduling on `WORKERS` workers, longest remaining chain first (the scheduler's
/// rule): the job's simulated wall time.
fn simulate(tasks: &[Task], set: &BTreeSet<usize>) -> u64 {
    let mut tail = vec![0u64; tasks.len()];
    for &t in set.iter().rev() {
        let below = set
            .iter()
            .filter(|&&d| tasks[d].after.contains(&t))
            .map(|&d| tail[d])
            .max()
            .unwrap_or(0);
        tail[t] = tasks[t].ms + below;
    }
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut started: BTreeSet<usize> = BTreeSet::new();
    let mut running: Vec<(u64, usize)> = Vec::new();
    let mut now = 0;
    while done.len() < set.len() {
        let mut ready: Vec<usize> = set
            .iter()
            .copied()
            .filter(|t| !started.contains(t) && tasks[*t].after.iter().all(|p| done.contains(p)))
            .collect();
        ready.sort_by_key(|&t| (std::cmp::Reverse(tail[t]), t));
        for t in ready {
            if running.len() == WORKERS {
                break;
            }
            started.insert(t);
            running.push((now + tasks[t].ms, t));
        }
        running.sort();
        let (end, t) = running.remove(0);
        now = end;
        done.insert(t);
    }
    now
}

struct Outcome {
    name: &'static str,
    estimates: Vec<u64>,
    simulated: Vec<u64>,
    duplicates: usize,
}

fn evaluate(name: &'static str, tasks: &[Task], assigned: Vec<Vec<usize>>) -> Outcome {
    let sets: Vec<BTreeSet<usize>> = assigned.iter().map(|a| closure(tasks, a)).collect();
    let total: usize = sets.iter().map(BTreeSet::len).sum();
    Outcome {
        name,
        estimates: sets.iter().map(|s| estimate(tasks, s)).collect(),
        simulated: sets.iter().map(|s| simulate(tasks, s)).collect(),
        duplicates: total - tasks.len(),
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x1000_0000_01b3)
    })
}

fn secs(ms: u64) -> String {
    format!("{:.0}", ms as f64 / 1000.0)
}

fn simulation(tasks: &[Task]) {
    let total: u64 = tasks.iter().map(|t| t.ms).sum();
    println!(
        "## Simulation: {} tasks, {:.0} min of work, jobs of {WORKERS} workers\n",
        tasks.len(),
        total as f64 / 60_000.0
    );
    println!("| N | strategy | per-shard estimate (s) | makespan est. / simulated (s) | lower bound (s) | est. / bound | sim. / bound | tasks run twice |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let d = dag(tasks);
    for n in [2usize, 4, 8] {
        let ours = split(&d, n, WORKERS);
        let bound = ours.lower_bound;
        let ids: Vec<usize> = (0..tasks.len()).collect();
        let by = |f: &dyn Fn(usize) -> usize| {
            let mut shards = vec![Vec::new(); n];
            for &t in &ids {
                shards[f(t)].push(t);
            }
            shards
        };
        let chunk = tasks.len().div_ceil(n);
        let outcomes = [
            evaluate("cargo-tek", tasks, ours.shards.clone()),
            evaluate("round-robin", tasks, by(&|t| t % n)),
            evaluate(
                "hash (nextest)",
                tasks,
                by(&|t| (fnv(&tasks[t].id) % n as u64) as usize),
            ),
            evaluate("chunks (moon)", tasks, by(&|t| t / chunk)),
        ];
        for o in outcomes {
            let est = o.estimates.iter().copied().max().unwrap_or(0);
            let sim = o.simulated.iter().copied().max().unwrap_or(0);
            println!(
                "| {n} | {} | {} | {} / {} | {} | {:.2} | {:.2} | {} |",
                o.name,
                o.estimates
                    .iter()
                    .map(|&e| secs(e))
                    .collect::<Vec<_>>()
                    .join(", "),
                secs(est),
                secs(sim),
                secs(bound),
                est as f64 / bound as f64,
                sim as f64 / bound as f64,
                o.duplicates
            );
        }
    }
    println!();
    stability(tasks);
}

/// How many tasks change shard when sot.md gains one task (a 30 s check).
fn stability(tasks: &[Task]) {
    println!("Adding one 30 s independent task: tasks that move to another shard\n");
    for n in [2usize, 4, 8] {
        let before = split(&dag(tasks), n, WORKERS);
        let mut more: Vec<Task> = tasks
            .iter()
            .map(|t| Task {
                id: t.id.clone(),
                queue: t.queue.clone(),
                after: t.after.clone(),
                ms: t.ms,
            })
            .collect();
        more.push(Task {
            id: format!("TASK-{:03}", tasks.len() + 1),
            queue: "Checks".into(),
            after: vec![],
            ms: 30_000,
        });
        let after = split(&dag(&more), n, WORKERS);
        let shard_of = |a: &cargo_tek::shard_split::Assignment, t: usize| {
            a.shards.iter().position(|s| s.contains(&t))
        };
        let moved = (0..tasks.len())
            .filter(|&t| shard_of(&before, t) != shard_of(&after, t))
            .count();
        println!("- N = {n}: {moved} of {} tasks moved", tasks.len());
    }
    println!();
}

/// Writes the plan as a workspace whose tasks sleep, scaled by `scale`.
fn workspace(dir: &Path, tasks: &[Task], scale: f64) {
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"replay\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    let mut sot = String::from("# Replay\n");
    let mut queue = "";
    let mut hooks = serde_json::Map::new();
    let mut results = Vec::new();
    for t in tasks {
        if t.queue != queue {
            queue = &t.queue;
            sot.push_str(&format!("## {queue}\n"));
        }
        let after: Vec<String> = t
            .after
            .iter()
            .map(|&p| format!("`{}`", tasks[p].id))
            .collect();
        let after = if after.is_empty() {
            String::new()
        } else {
            format!(" — after {}", after.join(", "))
        };
        sot.push_str(&format!("- [ ] `{}` task{after}\n", t.id));
        let ms = (t.ms as f64 * scale).round() as u64;
        hooks.insert(
            t.id.clone(),
            serde_json::json!({"commands": [{"cmd": ["sleep", format!("{:.3}", ms as f64 / 1000.0)]}]}),
        );
        results.push(serde_json::json!({
            "task": t.id, "queue": t.queue, "agent": "shell", "status": "ok", "duration_ms": ms
        }));
    }
    std::fs::write(dir.join("sot.md"), sot).unwrap();
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("config/hooks.json"),
        serde_json::Value::Object(hooks).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("durations.json"),
        serde_json::json!({"status": "ok", "started": "2026-11-30T00:00:00Z", "results": results})
            .to_string(),
    )
    .unwrap();
}

fn tek(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-tek"))
        .arg("tek")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TEK_NO_CACHE", "1")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo-tek runs");
    assert!(
        out.status.success(),
        "cargo tek {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn replay(tasks: &[Task], scale: f64) {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path(), tasks, scale);
    println!(
        "## Replay: every task a sleep of its duration × 1/{:.0}, shards run one after another with -j {WORKERS}\n",
        1.0 / scale
    );
    println!("| N | shard | tasks | predicted (s) | measured (s) | measured / predicted |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let workers = WORKERS.to_string();
    for n in [2u32, 4, 8] {
        let plan_file = format!("plan-{n}.json");
        tek(
            dir.path(),
            &[
                "plan",
                "--shards",
                &n.to_string(),
                "-j",
                &workers,
                "--durations",
                "durations.json",
                "--out",
                &plan_file,
            ],
        );
        let plan: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(&plan_file)).unwrap()).unwrap();
        let shards = plan["shards"]["shards"].as_array().unwrap();
        let total = plan["shards"]["total"].as_u64().unwrap();
        let mut worst = (0.0f64, 0.0f64);
        for shard in shards {
            let k = shard["index"].as_u64().unwrap();
            let predicted = shard["estimate_ms"].as_u64().unwrap() as f64 / 1000.0;
            let started = Instant::now();
            tek(
                dir.path(),
                &[
                    "-q",
                    "run",
                    "--plan",
                    &plan_file,
                    "--shard",
                    &format!("{k}/{total}"),
                    "-j",
                    &workers,
                    "--runs-dir",
                    &format!("runs-{n}"),
                ],
            );
            let measured = started.elapsed().as_secs_f64();
            worst = (worst.0.max(predicted), worst.1.max(measured));
            println!(
                "| {n} | {k}/{total} | {} | {predicted:.2} | {measured:.2} | {:.2} |",
                shard["tasks"].as_array().unwrap().len(),
                measured / predicted
            );
        }
        println!(
            "| {n} | longest | | {:.2} | {:.2} | {:.2} |",
            worst.0,
            worst.1,
            worst.1 / worst.0
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary too,
    // without it: then only check that the plan and the split hold together.
    if !std::env::args().any(|a| a == "--bench") {
        let tasks = generate();
        assert_eq!(tasks.len(), TASKS);
        assert!(split(&dag(&tasks), 4, WORKERS).shards.len() == 4);
        return;
    }
    let tasks = generate();
    simulation(&tasks);
    if std::env::var_os("SKIP_REPLAY").is_none() {
        let scale = std::env::var("REPLAY_SCALE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1.0 / 150.0);
        replay(&tasks, scale);
    }
}
