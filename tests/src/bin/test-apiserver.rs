//! `test-apiserver`: the in-process test Kubernetes API server as a standalone process, so that tools which
//! need a real process boundary (the operator binary, kubectl, the scale benchmark) can talk to it.
//!
//! It binds 127.0.0.1 on a free port, optionally installs CRDs from a directory, writes a kubeconfig for
//! itself, prints the URL as the first line of stdout (scripts read it from there) and serves until SIGTERM
//! or Ctrl-C. Arguments are parsed by hand: the test crate has no use for a CLI framework otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use sfn_operator_tests::apiserver::TestApiServer;

const USAGE: &str = "usage: test-apiserver [--kubeconfig PATH] [--crds DIR] [--history-limit N] \
[--bookmark-interval-secs N] [--listen ADDR] [--state FILE]

  --kubeconfig PATH            write a kubeconfig (cluster, user and context \"test-apiserver\") to PATH
  --crds DIR                   install every *.yaml CustomResourceDefinition in DIR before announcing the URL
                               (skipped when the state is restored from --state)
  --history-limit N            changes a watch can replay before 410 Expired (default 10000)
  --bookmark-interval-secs N   seconds between watch bookmarks (default 1)
  --listen ADDR                address to bind, such as 127.0.0.1:6443 (default: a free port on 127.0.0.1)
  --state FILE                 start from the state saved in FILE if it exists; save the state there on
                               SIGTERM or Ctrl-C, so that a restart keeps every object

Prints the server URL on the first line of stdout, then serves until SIGTERM or Ctrl-C.";

#[derive(Debug, Default)]
struct Args {
    kubeconfig: Option<PathBuf>,
    crds: Option<PathBuf>,
    history_limit: Option<usize>,
    bookmark_interval: Option<Duration>,
    listen: Option<std::net::SocketAddr>,
    state: Option<PathBuf>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> anyhow::Result<Option<Args>> {
    let mut args = Args::default();
    while let Some(flag) = argv.next() {
        let mut value = |name: &str| {
            argv.next()
                .with_context(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--kubeconfig" => args.kubeconfig = Some(value("--kubeconfig")?.into()),
            "--crds" => args.crds = Some(value("--crds")?.into()),
            "--history-limit" => {
                let v = value("--history-limit")?;
                args.history_limit = Some(
                    v.parse()
                        .with_context(|| format!("--history-limit {v:?} is not a count"))?,
                );
            }
            "--bookmark-interval-secs" => {
                let v = value("--bookmark-interval-secs")?;
                let secs: u64 = v
                    .parse()
                    .with_context(|| format!("--bookmark-interval-secs {v:?} is not a count"))?;
                args.bookmark_interval = Some(Duration::from_secs(secs.max(1)));
            }
            "--listen" => {
                let v = value("--listen")?;
                args.listen = Some(v.parse().with_context(|| {
                    format!("--listen {v:?} is not an address such as 127.0.0.1:6443")
                })?);
            }
            "--state" => args.state = Some(value("--state")?.into()),
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(Some(args))
}

/// A kubeconfig with one cluster, an empty user (the server does no authentication) and a current context.
fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: test-apiserver\n  cluster:\n    server: {url}\n\
         users:\n\
         - name: test-apiserver\n  user: {{}}\n\
         contexts:\n\
         - name: test-apiserver\n  context:\n    cluster: test-apiserver\n    user: test-apiserver\n    namespace: default\n\
         current-context: test-apiserver\n"
    )
}

/// Every CRD document in the `*.yaml` files of `dir`, in file name order.
fn read_crds(dir: &Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut crds = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)
            .with_context(|| format!("parsing {} as YAML", file.display()))?;
        crds.extend(
            docs.into_iter()
                .filter(|d| d["kind"] == "CustomResourceDefinition"),
        );
    }
    Ok(crds)
}

async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let mut builder = TestApiServer::builder();
    if let Some(n) = args.history_limit {
        builder = builder.history_limit(n);
    }
    if let Some(d) = args.bookmark_interval {
        builder = builder.bookmark_interval(d);
    }
    if let Some(addr) = args.listen {
        builder = builder.listen(addr);
    }
    let mut restored = false;
    if let Some(path) = args.state.as_ref().filter(|p| p.exists()) {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the state file {}", path.display()))?;
        let snapshot: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("parsing the state file {}", path.display()))?;
        builder = builder.restore(snapshot);
        restored = true;
    }
    let server = builder.start().await;
    let url = server.url();
    if let Some(dir) = args.crds.as_ref().filter(|_| !restored) {
        let client = server.client();
        for crd in read_crds(dir)? {
            let name = crd["metadata"]["name"].as_str().unwrap_or("?").to_owned();
            sfn_operator_tests::cluster::install_crd(&client, &crd)
                .await
                .with_context(|| format!("installing CRD {name}"))?;
        }
    }
    if let Some(path) = &args.kubeconfig {
        std::fs::write(path, kubeconfig_yaml(&url))
            .with_context(|| format!("writing the kubeconfig {}", path.display()))?;
    }
    // Announced only once CRDs are in and the kubeconfig exists, so a reader can use both at once.
    println!("{url}");
    terminated().await;
    if let Some(path) = &args.state {
        // Requests that arrive from here on wait for the lock and are cut when the process exits, so no
        // write is acknowledged that the saved state lacks.
        let (snapshot, _held) = server.frozen_snapshot();
        // Written aside and renamed, so a reader never sees half a file.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, serde_json::to_vec(&snapshot)?)
            .with_context(|| format!("writing the state file {}", partial.display()))?;
        std::fs::rename(&partial, path)
            .with_context(|| format!("moving the state file to {}", path.display()))?;
        std::process::exit(0);
    }
    drop(server);
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> anyhow::Result<Option<Args>> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_parse_and_bad_ones_are_refused() {
        let args = parse(&["--kubeconfig", "/tmp/kc", "--history-limit", "50000"])
            .unwrap()
            .unwrap();
        assert_eq!(args.kubeconfig.as_deref(), Some(Path::new("/tmp/kc")));
        assert_eq!(args.history_limit, Some(50_000));
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--history-limit", "many"]).is_err());
        assert!(parse(&["--kubeconfig"]).is_err());
        assert!(parse(&["--port", "1"]).is_err());
        let args = parse(&["--listen", "127.0.0.1:6443", "--state", "/tmp/s.json"])
            .unwrap()
            .unwrap();
        assert_eq!(args.listen, Some("127.0.0.1:6443".parse().unwrap()));
        assert_eq!(args.state.as_deref(), Some(Path::new("/tmp/s.json")));
        assert!(parse(&["--listen", "localhost"]).is_err());
    }

    #[test]
    fn kubeconfig_points_at_the_server() {
        let yaml = kubeconfig_yaml("http://127.0.0.1:4321");
        let kc: kube::config::Kubeconfig = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("test-apiserver"));
        let cluster = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("http://127.0.0.1:4321"));
    }
}
