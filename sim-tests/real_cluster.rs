//! The same service code on real UDP sockets and a real disk: for each service, three
//! `faultlab serve` processes on loopback, one killed with SIGKILL mid-load and restarted from
//! its data directory, while `faultlab load` drives clients and checks what they saw with the
//! service's history checks (unique ids; linearizability for the KV store). Real time, so this
//! test asserts safety only, never timing.

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
        let addrs: Vec<String> = free_udp_ports(n)
            .into_iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let dir =
            std::env::temp_dir().join(format!("faultlab-real-{service}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut c = Cluster {
            service,
            nodes: Vec::new(),
            addrs: addrs.join(","),
            dir,
        };
        for i in 0..n {
            let child = c.spawn(i);
            c.nodes.push(Some(child));
        }
        c
    }

    fn spawn(&self, i: usize) -> Child {
        Command::new(env!("CARGO_BIN_EXE_faultlab"))
            .args([
                "serve",
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
            .stderr(Stdio::null())
            .spawn()
            .expect("start a node")
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
    let load = Command::new(env!("CARGO_BIN_EXE_faultlab"))
        .args([
            "load",
            "--service",
            service,
            "--cluster",
            &cluster.addrs,
            "--clients",
            "4",
            "--duration-ms",
            &duration_ms.to_string(),
            "--timeout-ms",
            "2000",
        ])
        .arg("--out")
        .arg(&history)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the load");
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
}
