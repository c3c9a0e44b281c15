//! End-to-end tests of the query API over a real socket and a temporary TSDB, asserting exact
//! response bodies.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use tsdb::Labels;
use tsdb::db::{Db, DbOptions};

use super::{QueryState, routes};

struct Server {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// `up{job="a",instance="x"}` = 1 and `up{job="b"}` = 0 every 15 s over 0..=60 s, and
/// `http_requests_total{code="200",job="a"}` = 10, 20, … over the same times.
fn start() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        DbOptions {
            max_future: None,
            ..Default::default()
        },
    )
    .expect("open db");
    let series = [
        (vec![("__name__", "up"), ("instance", "x"), ("job", "a")], 0.0),
        (vec![("__name__", "up"), ("job", "b")], 0.0),
        (
            vec![("__name__", "http_requests_total"), ("code", "200"), ("job", "a")],
            10.0,
        ),
    ];
    let mut appender = db.appender();
    for (pairs, step) in &series {
        let labels = Labels::new(pairs.iter().copied()).expect("labels");
        for i in 0..=4 {
            let v = if *step == 0.0 {
                f64::from(u8::from(pairs.contains(&("job", "a"))))
            } else {
                step * f64::from(i + 1)
            };
            appender.append(&labels, i64::from(i) * 15_000, v).expect("append");
        }
    }
    appender.commit().expect("commit");
    let state = Arc::new(QueryState {
        db: Arc::new(db),
        engine: ::query::promql::eval::Engine::new(Default::default()),
        config_yaml: Arc::new(|| "global:\n  scrape_interval: 15s\n".to_string()),
        flags: vec![
            ("storage.tsdb.path".into(), "data/".into()),
            ("config.file".into(), "loupe.yml".into()),
        ],
        start_time: std::time::UNIX_EPOCH,
        admin_api: true,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        axum::serve(listener, routes(state)).await.expect("serve");
    });
    Server {
        addr,
        _runtime: runtime,
        _dir: dir,
    }
}

impl Server {
    /// Sends one request (a form body when `body` is given) and returns the status and body.
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        if let Some(body) = body {
            request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        } else {
            request.push_str("\r\n");
        }
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
        (status, body)
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.call("GET", path, None)
    }

    fn post(&self, path: &str, body: &str) -> (u16, String) {
        self.call("POST", path, Some(body))
    }
}

fn ok(body: &str) -> (u16, String) {
    (200, body.to_string())
}

#[test]
fn instant_queries() {
    let s = start();
    // Grafana's health check.
    assert_eq!(
        s.post("/api/v1/query", "query=1%2B1&time=4"),
        ok(r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#)
    );
    assert_eq!(
        s.get("/api/v1/query?query=up&time=60"),
        ok(concat!(
            r#"{"status":"success","data":{"resultType":"vector","result":["#,
            r#"{"metric":{"__name__":"up","instance":"x","job":"a"},"value":[60,"1"]},"#,
            r#"{"metric":{"__name__":"up","job":"b"},"value":[60,"0"]}]}}"#
        ))
    );
    // The body wins over the URL; times may be RFC 3339.
    assert_eq!(
        s.call(
            "POST",
            "/api/v1/query?query=up&time=1",
            Some("query=sum(http_requests_total)&time=1970-01-01T00:00:30.5Z")
        ),
        ok(r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[30.500,"30"]}]}}"#)
    );
    assert_eq!(
        s.get("/api/v1/query?query=up&time=60&limit=1"),
        ok(concat!(
            r#"{"status":"success","data":{"resultType":"vector","result":["#,
            r#"{"metric":{"__name__":"up","instance":"x","job":"a"},"value":[60,"1"]}]},"#,
            r#""warnings":["results truncated due to limit"]}"#
        ))
    );
    assert_eq!(
        s.get("/api/v1/query?query=%22a%3Cb%22&time=1"),
        ok(r#"{"status":"success","data":{"resultType":"string","result":[1,"a\u003cb"]}}"#)
    );
    assert_eq!(
        s.get("/api/v1/query?query=1e-7&time=1"),
        ok(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"1e-07"]}}"#)
    );
    // Samples older than the lookback delta are not seen.
    assert_eq!(
        s.get("/api/v1/query?query=up&time=100&lookback_delta=30s"),
        ok(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
    );
}

#[test]
fn range_queries() {
    let s = start();
    assert_eq!(
        s.post(
            "/api/v1/query_range",
            "end=30&query=up%7Bjob%3D%22b%22%7D&start=0&step=15"
        ),
        ok(concat!(
            r#"{"status":"success","data":{"resultType":"matrix","result":["#,
            r#"{"metric":{"__name__":"up","job":"b"},"values":[[0,"0"],[15,"0"],[30,"0"]]}]}}"#
        ))
    );
    assert_eq!(
        s.get("/api/v1/query_range?query=time()&start=0&end=1&step=0.5"),
        ok(concat!(
            r#"{"status":"success","data":{"resultType":"matrix","result":["#,
            r#"{"metric":{},"values":[[0,"0"],[0.500,"0.5"],[1,"1"]]}]}}"#
        ))
    );
    let error = |body: &str| format!(r#"{{"status":"error","errorType":"bad_data","error":"{body}"}}"#);
    assert_eq!(
        s.get("/api/v1/query_range?query=up&start=10&end=0&step=15"),
        (
            400,
            error(r#"invalid parameter \"end\": end timestamp must not be before start time"#)
        )
    );
    assert_eq!(
        s.get("/api/v1/query_range?query=up&start=0&end=10&step=0"),
        (
            400,
            error(
                r#"invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"#
            )
        )
    );
    assert_eq!(
        s.get("/api/v1/query_range?query=up&start=0&end=11001&step=1"),
        (
            400,
            error(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
            )
        )
    );
    assert_eq!(
        s.get("/api/v1/query_range?query=up&end=10&step=1"),
        (
            400,
            error(r#"invalid parameter \"start\": cannot parse \"\" to a valid timestamp"#)
        )
    );
    assert_eq!(
        s.get("/api/v1/query_range?query=up%5B5m%5D&start=0&end=10&step=1"),
        (
            422,
            r#"{"status":"error","errorType":"execution","error":"invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"}"#.to_string()
        )
    );
}

#[test]
fn query_errors() {
    let s = start();
    let (status, body) = s.post("/api/v1/query", "query=1%2B&time=4");
    assert_eq!(status, 400);
    assert!(
        body.starts_with(
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:3: parse error: "#
        ),
        "{body}"
    );
    assert_eq!(
        s.get("/api/v1/query?query=up&time=abc"),
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"time\": invalid time value for 'time': cannot parse \"abc\" to a valid timestamp"}"#.to_string()
        )
    );
    assert_eq!(
        s.get("/api/v1/query?query=up&timeout=x"),
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"timeout\": cannot parse \"x\" to a valid duration"}"#.to_string()
        )
    );
    let (status, body) = s.get("/api/v1/query?time=1");
    assert_eq!(status, 400);
    assert!(body.contains("no expression found in input"), "{body}");
}

#[test]
fn metadata_endpoints() {
    let s = start();
    let up = r#"{"__name__":"up","instance":"x","job":"a"},{"__name__":"up","job":"b"}"#;
    assert_eq!(
        s.get("/api/v1/series?match[]=up"),
        ok(&format!(r#"{{"status":"success","data":[{up}]}}"#))
    );
    // Grafana's series request; several match[] are merged without duplicates.
    let (status, body) = s.post(
        "/api/v1/series",
        "match%5B%5D=%7B__name__%21%3D%22%22%7D&match[]=up&limit=40000",
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        format!(r#"{{"status":"success","data":[{{"__name__":"http_requests_total","code":"200","job":"a"}},{up}]}}"#)
    );
    assert_eq!(
        s.get("/api/v1/series?match[]=up&limit=1"),
        ok(
            r#"{"status":"success","data":[{"__name__":"up","instance":"x","job":"a"}],"warnings":["results truncated due to limit"]}"#
        )
    );
    assert_eq!(
        s.get("/api/v1/series?match[]=up&start=100&end=200"),
        ok(r#"{"status":"success","data":[]}"#)
    );
    assert_eq!(
        s.get("/api/v1/series"),
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"no match[] parameter provided"}"#.into()
        )
    );
    assert_eq!(
        s.get("/api/v1/series?match[]=%7Bjob%3D~%22.*%22%7D"),
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"match[]\": 1:1: parse error: vector selector must contain at least one non-empty matcher"}"#.into()
        )
    );
    assert_eq!(
        s.get("/api/v1/labels"),
        ok(r#"{"status":"success","data":["__name__","code","instance","job"]}"#)
    );
    assert_eq!(
        s.post("/api/v1/labels", "limit=40000&match[]=up"),
        ok(r#"{"status":"success","data":["__name__","instance","job"]}"#)
    );
    assert_eq!(
        s.get("/api/v1/label/__name__/values?start=0&end=100&limit=40000"),
        ok(r#"{"status":"success","data":["http_requests_total","up"]}"#)
    );
    assert_eq!(
        s.get("/api/v1/label/job/values?match[]=http_requests_total"),
        ok(r#"{"status":"success","data":["a"]}"#)
    );
    assert_eq!(
        s.get("/api/v1/label/U__j_6f_b/values"),
        ok(r#"{"status":"success","data":["a","b"]}"#)
    );
    assert_eq!(
        s.get("/api/v1/label/nope/values"),
        ok(r#"{"status":"success","data":[]}"#)
    );
    assert_eq!(
        s.get("/api/v1/labels?start=x"),
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"start\": invalid time value for 'start': cannot parse \"x\" to a valid timestamp"}"#.into()
        )
    );
}

#[test]
fn other_endpoints() {
    let s = start();
    assert_eq!(
        s.get("/api/v1/query_exemplars?query=test&start=1700000000000&end=1700003600000"),
        ok(r#"{"status":"success","data":[]}"#)
    );
    assert_eq!(
        s.post("/api/v1/format_query", "query=sum+by(job)(rate(x%5B5m%5D))"),
        ok(r#"{"status":"success","data":"sum by (job) (rate(x[5m]))"}"#)
    );
    assert_eq!(
        s.get("/api/v1/status/buildinfo"),
        ok(concat!(
            r#"{"status":"success","data":{"version":"3.5.0","revision":"loupe-"#,
            env!("CARGO_PKG_VERSION"),
            r#"","branch":"","buildUser":"","buildDate":"","goVersion":""}}"#
        ))
    );
    assert_eq!(
        s.get("/api/v1/status/config"),
        ok(r#"{"status":"success","data":{"yaml":"global:\n  scrape_interval: 15s\n"}}"#)
    );
    assert_eq!(
        s.get("/api/v1/status/flags"),
        ok(r#"{"status":"success","data":{"config.file":"loupe.yml","storage.tsdb.path":"data/"}}"#)
    );
    let (status, body) = s.get("/api/v1/status/runtimeinfo");
    assert_eq!(status, 200);
    assert!(
        body.starts_with(r#"{"status":"success","data":{"startTime":"1970-01-01T00:00:00Z","CWD":""#),
        "{body}"
    );
    assert!(body.ends_with(r#","storageRetention":"15d"}}"#), "{body}");
    // Deleting `up` up to 15 s leaves 30 s, 45 s and 60 s in the last minute.
    let count = "/api/v1/query?query=count_over_time(up%5B1m%5D)&time=60";
    let before = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"x","job":"a"},"value":[60,"4"]},{"metric":{"job":"b"},"value":[60,"4"]}]}}"#;
    assert_eq!(s.get(count), ok(before));
    assert_eq!(
        s.post("/api/v1/admin/tsdb/delete_series", "match[]=up&start=0&end=15"),
        (204, String::new())
    );
    let after = before.replace(r#""4"]"#, r#""3"]"#);
    assert_eq!(s.get(count), ok(&after));
    assert_eq!(
        s.post("/api/v1/admin/tsdb/delete_series", "start=0"),
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"no match[] parameter provided"}"#.into()
        )
    );
    assert_eq!(s.post("/api/v1/admin/tsdb/clean_tombstones", ""), (204, String::new()));
    assert_eq!(s.get("/api/v1/admin/tsdb/delete_series").0, 405);
}

#[test]
fn tsdb_status() {
    let s = start();
    assert_eq!(
        s.get("/api/v1/status/tsdb?limit=2"),
        ok(concat!(
            r#"{"status":"success","data":{"headStats":{"numSeries":3,"numLabelPairs":6,"chunkCount":3,"#,
            r#""minTime":0,"maxTime":60000},"#,
            r#""seriesCountByMetricName":[{"name":"up","value":2},{"name":"http_requests_total","value":1}],"#,
            r#""labelValueCountByLabelName":[{"name":"__name__","value":2},{"name":"job","value":2}],"#,
            r#""memoryInBytesByLabelName":[{"name":"__name__","value":47},{"name":"job","value":12}],"#,
            r#""seriesCountByLabelValuePair":[{"name":"__name__=up","value":2},{"name":"job=a","value":2}]}}"#
        ))
    );
    assert_eq!(
        s.get("/api/v1/status/tsdb?limit=0"),
        (
            400,
            r#"{"status":"error","errorType":"bad_data","error":"limit must be a positive number"}"#.into()
        )
    );
}
