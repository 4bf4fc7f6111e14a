//! The same service code on real UDP sockets and a real disk: for each service, three
//! `faultlab serve` processes on loopback, one killed with SIGKILL mid-load and restarted from
//! its data directory, while `faultlab load` drives clients and checks what they saw with the
//! service's history checks (unique ids; linearizability for the KV store); then a second load
//! on the same cluster, which must pass too. Then the front door: datagrams that claim to come
//! from a node they do not come from, or that lack the cluster key's MAC, are dropped and
//! counted; one data directory serves one process. Real time, so these tests assert safety
//! only, never timing.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

struct Cluster {
    service: &'static str,
    nodes: Vec<Option<Child>>,
    addrs: String,
    dir: PathBuf,
    key: Option<PathBuf>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.nodes.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_udp_ports(n: usize) -> Vec<u16> {
    // Hold all sockets until every port is chosen, so the ports are distinct.
    let socks: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
        .collect();
    socks
        .iter()
        .map(|s| s.local_addr().expect("addr").port())
        .collect()
}

impl Cluster {
    fn start(service: &'static str, n: usize) -> Cluster {
        Self::start_with(service, n, false)
    }

    /// A cluster whose nodes share a key (written to `<dir>/cluster.key`) when `keyed`.
    fn start_with(service: &'static str, n: usize, keyed: bool) -> Cluster {
        let addrs: Vec<String> = free_udp_ports(n)
            .into_iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let dir = std::env::temp_dir().join(format!(
            "faultlab-real-{service}{}-{}",
            if keyed { "-keyed" } else { "" },
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cluster directory");
        let key = keyed.then(|| {
            let path = dir.join("cluster.key");
            std::fs::write(&path, "a test secret of thirty-two bytes").expect("key file");
            owner_only(&path);
            path
        });
        let mut c = Cluster {
            service,
            nodes: Vec::new(),
            addrs: addrs.join(","),
            dir,
            key,
        };
        for i in 0..n {
            let child = c.spawn(i);
            c.nodes.push(Some(child));
        }
        c
    }

    fn spawn(&self, i: usize) -> Child {
        let stderr = std::fs::File::create(self.stderr_path(i)).expect("stderr file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultlab"));
        cmd.arg("serve");
        if let Some(key) = &self.key {
            cmd.arg("--cluster-key").arg(key);
        }
        cmd.args([
            "--service",
            self.service,
            "--node",
            &i.to_string(),
            "--cluster",
            &self.addrs,
            "--data",
        ])
        .arg(self.dir.join(format!("n{i}")))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start a node")
    }

    fn stderr_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("n{i}.stderr"))
    }

    fn node_addr(&self, i: usize) -> String {
        self.addrs
            .split(',')
            .nth(i)
            .expect("node address")
            .to_string()
    }

    /// Starts a load of `duration_ms` with 4 clients, writing the history to `history`.
    fn load(&self, duration_ms: u64, history: &std::path::Path, key: Option<&PathBuf>) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultlab"));
        cmd.args([
            "load",
            "--service",
            self.service,
            "--cluster",
            &self.addrs,
            "--clients",
            "4",
            "--duration-ms",
            &duration_ms.to_string(),
            "--timeout-ms",
            "2000",
        ])
        .arg("--out")
        .arg(history);
        if let Some(key) = key {
            cmd.arg("--cluster-key").arg(key);
        }
        cmd.stdout(Stdio::piped()).spawn().expect("start the load")
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
        }
    }

    fn restart(&mut self, i: usize) {
        let child = self.spawn(i);
        self.nodes[i] = Some(child);
    }
}

/// Each service, the history check that must pass on what its clients saw, its node count,
/// how long the load runs and how many operations must succeed. The lock service's last node
/// is the protected resource; its clients hold leases of up to a second, so fewer operations.
struct Case {
    service: &'static str,
    check: &'static str,
    nodes: usize,
    duration_ms: u64,
    oks_min: usize,
}

const SERVICES: &[Case] = &[
    Case {
        service: "idgen",
        check: "unique-ids",
        nodes: 3,
        duration_ms: 2000,
        oks_min: 50,
    },
    Case {
        service: "kv",
        check: "linearizable",
        nodes: 3,
        duration_ms: 2000,
        oks_min: 50,
    },
    Case {
        service: "lock",
        check: "linearizable",
        nodes: 4,
        duration_ms: 4000,
        oks_min: 5,
    },
];

#[test]
fn real_clusters_survive_a_kill_and_restart() {
    for case in SERVICES {
        one_cluster(case);
    }
}

fn one_cluster(case: &Case) {
    let Case {
        service,
        check,
        nodes,
        duration_ms,
        oks_min,
    } = *case;
    let mut cluster = Cluster::start(service, nodes);
    sleep(Duration::from_millis(300));
    let history = cluster.dir.join("history.jsonl");
    let load = cluster.load(duration_ms, &history, None);
    sleep(Duration::from_millis(700));
    cluster.kill(1);
    sleep(Duration::from_millis(200));
    cluster.restart(1);
    let out = load.wait_with_output().expect("load finishes");
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{service}: {report}");
    assert!(
        report.contains(&format!("pass    {check}")),
        "{service}: {report}"
    );
    let text = std::fs::read_to_string(&history).expect("history written");
    let oks = text
        .lines()
        .filter(|l| l.contains("\"type\":\"ok\""))
        .count();
    assert!(
        oks > oks_min,
        "{service}: the cluster served only {oks} operations:\n{report}"
    );
    let incarnation = std::fs::read_to_string(cluster.dir.join("n1").join("faultlab.incarnation"))
        .unwrap_or_default();
    assert_eq!(
        incarnation.trim(),
        "2",
        "{service}: node 1 restarted from its data directory"
    );
    // A second run on the same cluster, which holds the first run's data: fresh session ids
    // and (for the KV store) fresh keys, so its history stands on its own.
    let again = cluster.dir.join("history-2.jsonl");
    let out = cluster
        .load(duration_ms, &again, None)
        .wait_with_output()
        .expect("second load finishes");
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{service}, second load: {report}"
    );
}

/// A datagram "from node 0" with a valid header, sent from a socket that is not node 0's.
fn forged_from_node_0(to_node: u32) -> Vec<u8> {
    let mut d = vec![1u8];
    d.extend_from_slice(&7u64.to_le_bytes());
    d.push(0);
    d.extend_from_slice(&0u32.to_le_bytes());
    d.push(0);
    d.extend_from_slice(&to_node.to_le_bytes());
    d.extend_from_slice(br#"{"peer":{"append":{"term":1000}}}"#);
    framed(d)
}

/// A datagram as the wire carries it without a key: the envelope and its CRC-32.
fn framed(mut envelope: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&envelope);
    envelope.extend_from_slice(&crc.to_le_bytes());
    envelope
}

/// A key file as it should be kept: readable by its owner only.
fn owner_only(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

fn wait_for_line(path: &std::path::Path, needle: &str) -> Result<(), String> {
    for _ in 0..50 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return Ok(());
        }
        sleep(Duration::from_millis(100));
    }
    Err(std::fs::read_to_string(path).unwrap_or_default())
}

#[test]
fn forged_and_unauthenticated_datagrams_are_dropped_and_counted() {
    // Without a key: the claimed sender must be where it is configured to be.
    let open = Cluster::start("kv", 3);
    sleep(Duration::from_millis(300));
    let attacker = UdpSocket::bind("127.0.0.1:0").expect("bind");
    attacker
        .send_to(&forged_from_node_0(1), open.node_addr(1))
        .expect("send");
    wait_for_line(&open.stderr_path(1), "wrong_source=1")
        .unwrap_or_else(|log| panic!("node 1 did not count the forged datagram:\n{log}"));

    // With a key: a datagram without the MAC is refused; the cluster serves a keyed load; a
    // load with another key gets nothing accepted (no operation completes: unknown, exit 3).
    let keyed = Cluster::start_with("kv", 3, true);
    sleep(Duration::from_millis(300));
    attacker
        .send_to(&forged_from_node_0(2), keyed.node_addr(2))
        .expect("send");
    wait_for_line(&keyed.stderr_path(2), "garbage=1")
        .unwrap_or_else(|log| panic!("node 2 did not count the unsealed datagram:\n{log}"));
    let history = keyed.dir.join("history.jsonl");
    let out = keyed
        .load(1500, &history, keyed.key.as_ref())
        .wait_with_output()
        .expect("keyed load");
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "keyed load: {report}");
    let wrong = keyed.dir.join("wrong.key");
    std::fs::write(&wrong, "not the secret the cluster has!!").expect("key");
    owner_only(&wrong);
    let out = keyed
        .load(800, &keyed.dir.join("history-wrong.jsonl"), Some(&wrong))
        .wait_with_output()
        .expect("wrong-key load");
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the wrong key must get nowhere: {report}"
    );
    assert!(report.contains(" ok 0 "), "{report}");
}

#[test]
fn a_data_directory_serves_one_process_and_every_interface_needs_a_key() {
    let cluster = Cluster::start("idgen", 3);
    sleep(Duration::from_millis(300));
    let second = Command::new(env!("CARGO_BIN_EXE_faultlab"))
        .args(["serve", "--service", "idgen", "--node", "0", "--cluster"])
        .arg(&cluster.addrs)
        .arg("--data")
        .arg(cluster.dir.join("n0"))
        .output()
        .expect("second serve");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("in use by process"), "{stderr}");
    let exposed = Command::new(env!("CARGO_BIN_EXE_faultlab"))
        .args(["serve", "--service", "idgen", "--node", "0"])
        .args(["--cluster", "0.0.0.0:7199,127.0.0.1:7198"])
        .arg("--data")
        .arg(cluster.dir.join("exposed"))
        .output()
        .expect("serve on every interface");
    let stderr = String::from_utf8_lossy(&exposed.stderr);
    assert_eq!(exposed.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--cluster-key"), "{stderr}");
}

/// A client datagram to node `to`: header "from client 999", then `body`.
fn client_datagram(to_node: u32, body: &str) -> Vec<u8> {
    let mut d = vec![1u8];
    d.extend_from_slice(&1u64.to_le_bytes());
    d.push(1);
    d.extend_from_slice(&999u32.to_le_bytes());
    d.push(0);
    d.extend_from_slice(&to_node.to_le_bytes());
    d.extend_from_slice(body.as_bytes());
    framed(d)
}

#[test]
fn a_made_up_fencing_token_cannot_poison_the_resource() {
    let cluster = Cluster::start("lock", 4);
    sleep(Duration::from_millis(300));
    // One write "holding" lock0 with the largest token there is: were it taken, the fence
    // would stand above every real grant and no honest holder could write again.
    let attacker = UdpSocket::bind("127.0.0.1:0").expect("bind");
    attacker
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let body = r#"{"request":{"req_id":1,"req":{"write":{"lock":"lock0","holder":"evil","token":18446744073709551615,"step":1}}}}"#;
    attacker
        .send_to(&client_datagram(3, body), cluster.node_addr(3))
        .expect("send");
    let mut buf = [0u8; 2048];
    let (len, _) = attacker.recv_from(&mut buf).expect("the resource answers");
    let answer = String::from_utf8_lossy(&buf[19..len.saturating_sub(4)]).to_string();
    assert!(answer.contains("rejected"), "{answer}");
    assert!(!answer.contains("18446744073709551615"), "{answer}");
    // Honest holders go on, and the fence stands where their tokens put it: a stale write
    // (token 1, granted long ago) is refused against a small highest token, not u64::MAX.
    let history = cluster.dir.join("history.jsonl");
    let out = cluster
        .load(3000, &history, None)
        .wait_with_output()
        .expect("load finishes");
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let stale = body
        .replace("18446744073709551615", "1")
        .replace("\"req_id\":1", "\"req_id\":2");
    attacker
        .send_to(&client_datagram(3, &stale), cluster.node_addr(3))
        .expect("send");
    let (len, _) = attacker.recv_from(&mut buf).expect("the resource answers");
    let answer = String::from_utf8_lossy(&buf[19..len.saturating_sub(4)]).to_string();
    let max: u64 = answer
        .split("\"max_token\":")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no max_token in {answer}"));
    assert!(
        max > 1 && max < 1_000_000,
        "the fence is at {max}: {answer}"
    );
}
