//! Malformed scenario files: every mistake is reported with the file, the line and the field —
//! never a panic, never silently accepted. The CLI turns them into exit code 2.

use faultlab::Registry;
use faultlab::scenario::Scenario;
use std::process::Command;

const GOOD: &str = "service = \"idgen\"\nnodes = 3\nclients = 2\nduration_ms = 1000\n";

struct Bad {
    what: &'static str,
    text: String,
    field: &'static str,
    line: Option<usize>,
    message_contains: &'static str,
}

fn bad(
    what: &'static str,
    text: &str,
    field: &'static str,
    line: Option<usize>,
    message_contains: &'static str,
) -> Bad {
    Bad {
        what,
        text: text.to_string(),
        field,
        line,
        message_contains,
    }
}

fn cases() -> Vec<Bad> {
    vec![
        bad(
            "unknown top-level key",
            &format!("{GOOD}nodez = 4\n"),
            "nodez",
            Some(5),
            "unknown field",
        ),
        bad(
            "unknown nested key",
            &format!("{GOOD}[network]\nlatency_ms = 3\n"),
            "network.latency_ms",
            Some(6),
            "unknown field",
        ),
        bad(
            "wrong type",
            "service = \"idgen\"\nnodes = \"five\"\nclients = 2\nduration_ms = 1000\n",
            "nodes",
            Some(2),
            "invalid type",
        ),
        bad(
            "missing field",
            "service = \"idgen\"\nnodes = 3\nduration_ms = 1000\n",
            "clients",
            None,
            "missing field",
        ),
        bad(
            "unknown service",
            "service = \"dns\"\nnodes = 3\nclients = 2\nduration_ms = 1000\n",
            "service",
            Some(1),
            "unknown service",
        ),
        bad(
            "not TOML",
            "service = \"idgen\nnodes = 3\n",
            "",
            Some(1),
            "",
        ),
        bad(
            "zero nodes",
            "service = \"idgen\"\nnodes = 0\nclients = 2\nduration_ms = 1000\n",
            "nodes",
            Some(2),
            "1..=64",
        ),
        bad(
            "latency bounds reversed",
            &format!("{GOOD}[network]\nlatency_ms_min = 9\nlatency_ms_max = 2\n"),
            "network.latency_ms_min",
            Some(6),
            "exceeds",
        ),
        bad(
            "probability out of range",
            &format!(
                "{GOOD}[[faults.schedule]]\nat_ms = 10\nfault = \"net-loss\"\nprobability = 1.5\n"
            ),
            "faults.schedule[0].probability",
            Some(8),
            "between 0 and 1",
        ),
        bad(
            "parameter a fault does not take",
            &format!("{GOOD}[[faults.schedule]]\nat_ms = 10\nfault = \"crash\"\ndelta_ms = 5\n"),
            "faults.schedule[0].delta_ms",
            Some(8),
            "not a parameter",
        ),
        bad(
            "missing fault parameter",
            &format!("{GOOD}[[faults.schedule]]\nat_ms = 10\nfault = \"clock-jump\"\nnode = 1\n"),
            "faults.schedule[0].delta_ms",
            Some(5),
            "required",
        ),
        bad(
            "node out of range",
            &format!("{GOOD}[[faults.schedule]]\nat_ms = 10\nfault = \"pause\"\nnode = 7\n"),
            "faults.schedule[0].node",
            Some(8),
            "does not exist",
        ),
        bad(
            "partition link to a node that does not exist",
            &format!(
                "{GOOD}[[faults.schedule]]\nat_ms = 10\nfault = \"partition\"\nkind = \"halves\"\ncut = [[0, 1], [1, 3]]\n"
            ),
            "faults.schedule[0].cut",
            Some(9),
            "does not exist",
        ),
        bad(
            "partition given both a pivot and its links",
            &format!(
                "{GOOD}[[faults.schedule]]\nat_ms = 10\nfault = \"partition\"\nkind = \"isolate\"\nnode = 1\ncut = [[0, 1]]\n"
            ),
            "faults.schedule[0].cut",
            Some(10),
            "not both",
        ),
        bad(
            "unknown fault",
            &format!("{GOOD}[[faults.schedule]]\nat_ms = 10\nfault = \"meteor\"\n"),
            "faults.schedule[0].fault",
            Some(7),
            "unknown variant",
        ),
        bad(
            "partition too big for the cluster",
            &format!(
                "{GOOD}[[faults.schedule]]\nat_ms = 10\nfault = \"partition\"\nkind = \"majorities-ring\"\n"
            ),
            "faults.schedule[0].kind",
            Some(8),
            "at least 4 nodes",
        ),
        bad(
            "unknown bug",
            &format!("{GOOD}bugs = [\"idgen-nope\"]\n"),
            "bugs[0]",
            Some(5),
            "unknown planted bug",
        ),
        bad(
            "unknown expectation",
            &format!("{GOOD}[expect]\ncrash_min = 1\n"),
            "expect.crash_min",
            Some(6),
            "unknown expectation",
        ),
        bad(
            "a swarm cannot draw an undo",
            &format!("{GOOD}[faults.random]\nkinds = [\"crash\", \"restart\"]\n"),
            "faults.random.kinds[1]",
            Some(6),
            "only undoes",
        ),
        bad(
            "unknown idgen option",
            &format!("{GOOD}[idgen]\nworker_bit = 3\n"),
            "idgen.worker_bit",
            Some(6),
            "unknown field",
        ),
        bad(
            "idgen bits overflow",
            &format!("{GOOD}[idgen]\ntimestamp_bits = 50\n"),
            "idgen.timestamp_bits",
            Some(6),
            "more than 63",
        ),
        bad(
            "random faults without kinds",
            &format!("{GOOD}[faults.random]\nkinds = []\n"),
            "faults.random.kinds",
            Some(6),
            "at least one",
        ),
        bad(
            "buggify rate above 1000 per mille",
            &format!("{GOOD}[randomize]\nbuggify = true\nbuggify_fire_permille = 5000\n"),
            "randomize.buggify_fire_permille",
            Some(7),
            "at most 1000",
        ),
        bad(
            "unknown randomize key",
            &format!("{GOOD}[randomize]\nknob = true\n"),
            "randomize.knob",
            Some(6),
            "unknown field",
        ),
        bad(
            "a corrupted bit without its file",
            &format!(
                "{GOOD}[[faults.schedule]]\nat_ms = 5\nfault = \"disk-corrupt\"\nnode = 1\nbit = 7\n"
            ),
            "faults.schedule[0].bit",
            Some(9),
            "needs the file",
        ),
        bad(
            "leases leave no generator",
            &format!("{GOOD}[idgen.leases]\nservers = 3\n"),
            "idgen.leases",
            Some(5),
            "none of 3 nodes",
        ),
    ]
}

#[test]
fn every_mistake_names_file_line_and_field() {
    for case in cases() {
        let err = match Scenario::parse(&case.text, "bad.toml", Some("bad"), &Registry::builtin()) {
            Ok(_) => panic!("{}: accepted:\n{}", case.what, case.text),
            Err(e) => e,
        };
        let shown = err.to_string();
        assert_eq!(
            err.field(),
            Some(case.field),
            "{}: wrong field in {shown:?}",
            case.what
        );
        assert_eq!(
            err.line(),
            case.line,
            "{}: wrong line in {shown:?}",
            case.what
        );
        assert!(
            shown.starts_with("bad.toml"),
            "{}: file not named in {shown:?}",
            case.what
        );
        assert!(
            shown.contains(case.message_contains),
            "{}: {shown:?} lacks {:?}",
            case.what,
            case.message_contains
        );
    }
}

#[test]
fn the_good_base_is_good() {
    assert!(Scenario::parse(GOOD, "good.toml", Some("good"), &Registry::builtin()).is_ok());
}

#[test]
fn cli_exits_2_with_the_message() {
    let dir = std::env::temp_dir().join(format!("faultlab-bad-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (i, case) in cases().iter().enumerate() {
        let file = dir.join(format!("bad{i}.toml"));
        std::fs::write(&file, &case.text).expect("write temp scenario");
        for sub in ["run", "replay"] {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultlab"));
            cmd.arg(sub).arg("--scenario").arg(&file);
            if sub == "replay" {
                cmd.args(["--seed", "0"]);
            }
            let out = cmd.output().expect("run faultlab");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{} ({sub}): {stderr}",
                case.what
            );
            assert!(
                stderr.contains(&format!("bad{i}.toml")),
                "{} ({sub}): {stderr}",
                case.what
            );
            assert!(
                !stderr.contains("panicked"),
                "{} ({sub}) panicked: {stderr}",
                case.what
            );
            if !case.field.is_empty() {
                assert!(
                    stderr.contains(case.field),
                    "{} ({sub}): field missing from {stderr}",
                    case.what
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
