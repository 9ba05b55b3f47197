//! A real PostgreSQL (Debian's) for the store's tests: a cluster of its own made by
//! `initdb` in a temporary folder, served on a free port, removed with it. `initdb`
//! refuses to run as root, so as root (CI) both run as the `postgres` user, in a
//! folder that user owns.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use tokio::net::TcpStream;

pub struct Postgres {
    pub port: u16,
    dir: PathBuf,
    data: String,
    child: Option<Child>,
}

/// Where Debian keeps the server's programs (they are not on PATH).
fn program(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .filter_map(|v| Some(v.ok()?.path().join("bin").join(name)))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(debian)
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is installed (scripts/setup.sh installs postgresql)"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// `program args…`, as the `postgres` user when this runs as root.
fn as_owner(program: PathBuf, args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

impl Postgres {
    /// Makes a cluster and starts it; waits until it takes connections.
    pub async fn start() -> Postgres {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("tickwire-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder for postgres");
        if is_root() {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown runs");
            assert!(owned.success(), "the folder is given to the postgres user");
        }
        let data = dir.join("data");
        let data_text = data.to_string_lossy().into_owned();
        let made = as_owner(
            program("initdb"),
            &[
                "-D",
                &data_text,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("initdb runs");
        assert!(made.success(), "initdb makes a cluster in {data_text}");
        let port_text = port.to_string();
        let dir_text = dir.to_string_lossy().into_owned();
        let child = as_owner(
            program("postgres"),
            &[
                "-D",
                &data_text,
                "-p",
                &port_text,
                "-h",
                "127.0.0.1",
                "-k",
                &dir_text,
                "-F",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("postgres runs");
        let postgres = Postgres {
            port,
            dir,
            data: data_text,
            child: Some(child),
        };
        super::eventually("postgres takes connections", || async {
            TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        postgres
    }

    /// A database of its own for one test (`CREATE DATABASE`), as a URL.
    pub async fn database(&self, name: &str) -> String {
        use sqlx::Connection;
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = super::eventually("postgres answers", || {
            let admin = admin.clone();
            async move { sqlx::PgConnection::connect(&admin).await.ok() }
        })
        .await;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("a database for the test");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // As root the child is `runuser`, not the server: `pg_ctl` stops the server.
        let _ = as_owner(
            program("pg_ctl"),
            &["-D", &self.data, "-m", "immediate", "stop"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
