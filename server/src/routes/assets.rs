//! The dashboard's build output under `/pkg` (wasm, its lazy chunks, JS, CSS): public,
//! like the pages that load it.
//!
//! - **Precompressed:** `cargo leptos build --precompress` writes a brotli and a gzip copy
//!   beside each file; a browser gets the smallest its `Accept-Encoding` takes, with no
//!   compression work per request.
//! - **Cached for good when hashed:** a release build names each file after its content
//!   (`hash-files`, listed in `hash.txt` beside the server binary), so a new build has
//!   new names and a browser may keep a file a year without asking again. Without the
//!   hash file (a build by hand without cargo-leptos) the names stay the same from build
//!   to build, so a browser revalidates each time.

use std::path::{Path, PathBuf};

use axum::http::{header, HeaderValue, Response};
use axum::Router;
use leptos::config::LeptosOptions;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// `Cache-Control` of a file whose name carries its content's hash.
const HASHED: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// `Cache-Control` of a file whose name does not change with its content.
const UNHASHED: HeaderValue = HeaderValue::from_static("no-cache");

/// Whether this server's site has content-hashed file names: cargo-leptos wrote the
/// hash file beside the binary that serves it (where Leptos reads it).
pub fn hashed_site(hash_file: &str) -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(hash_file)))
        .is_some_and(|path| path.is_file())
}

/// `/pkg`: the files of `{site_root}/pkg`, precompressed, with a `Cache-Control` that
/// fits their names. A missing file is a bare 404.
pub fn pkg<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir: PathBuf = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let cache = if options.hash_files { HASHED } else { UNHASHED };
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            move |response: &Response<_>| response.status().is_success().then(|| cache.clone()),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site root holding `pkg/app.wasm` and its two compressed copies (whose bytes
    /// say which one was served).
    fn site(name: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("tickwire-assets-{}-{name}", std::process::id()));
        let pkg = root.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        for (file, text) in [
            ("app.wasm", "plain"),
            ("app.wasm.br", "brotli"),
            ("app.wasm.gz", "gzip"),
        ] {
            std::fs::write(pkg.join(file), text).unwrap();
        }
        root
    }

    /// Serves `/pkg` of `root` on a free port.
    async fn serve(root: &Path, hash_files: bool) -> String {
        let options = LeptosOptions::builder()
            .output_name("app")
            .site_root(root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .hash_files(hash_files)
            .build();
        let router: Router = Router::new().nest("/pkg", pkg(&options));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}/pkg")
    }

    /// Status, `Content-Encoding`, `Cache-Control` and body of a GET.
    async fn get(url: &str, accept: Option<&str>) -> (u16, Option<String>, Option<String>, String) {
        let mut request = reqwest::Client::new().get(url);
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        let response = request.send().await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
        };
        let (encoding, cache) = (header("content-encoding"), header("cache-control"));
        let status = response.status().as_u16();
        (status, encoding, cache, response.text().await.unwrap())
    }

    #[tokio::test]
    async fn a_hashed_build_is_served_precompressed_and_cached_for_good() {
        let url = serve(&site("hashed"), true).await;
        let immutable = Some("public, max-age=31536000, immutable".to_owned());
        let (status, encoding, cache, body) =
            get(&format!("{url}/app.wasm"), Some("br, gzip")).await;
        assert_eq!(
            (status, encoding.as_deref(), &cache, body.as_str()),
            (200, Some("br"), &immutable, "brotli")
        );
        let (_, encoding, cache, body) = get(&format!("{url}/app.wasm"), Some("gzip")).await;
        assert_eq!(
            (encoding.as_deref(), &cache, body.as_str()),
            (Some("gzip"), &immutable, "gzip")
        );
        let (_, encoding, _, body) = get(&format!("{url}/app.wasm"), None).await;
        assert_eq!((encoding, body.as_str()), (None, "plain"));
        // What is not there is not cached.
        let (status, _, cache, _) = get(&format!("{url}/gone.wasm"), None).await;
        assert_eq!((status, cache), (404, None));
    }

    #[tokio::test]
    async fn an_unhashed_build_is_revalidated_on_each_use() {
        let url = serve(&site("unhashed"), false).await;
        let (status, encoding, cache, _) = get(&format!("{url}/app.wasm"), Some("gzip")).await;
        assert_eq!(
            (status, encoding.as_deref(), cache.as_deref()),
            (200, Some("gzip"), Some("no-cache"))
        );
    }
}
