//! The test broker (feature `testkit`): its URL, and closing connections by name as a broker
//! fault would.

use std::process::Command;

/// The test broker's URL: `SHAREHOLDERS_TEST_AMQP_URL`, or the local broker as guest.
#[must_use]
pub fn amqp_url() -> String {
    std::env::var("SHAREHOLDERS_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// Closes the broker connections whose client-given name contains `name`, and returns how many
/// it closed. It uses RabbitMQ's management API when `SHAREHOLDERS_TEST_RABBITMQ_MANAGEMENT_URL`
/// is set (e.g. `http://guest:guest@rabbitmq:15672`, as the compose file's `test` service sets
/// it), and `rabbitmqctl` on the broker's machine otherwise.
///
/// # Panics
/// When neither can list the connections.
pub async fn close_connections(name: &str) -> usize {
    match std::env::var("SHAREHOLDERS_TEST_RABBITMQ_MANAGEMENT_URL") {
        Ok(url) => close_through_management_api(&url, name).await,
        Err(_) => {
            let name = name.to_owned();
            tokio::task::spawn_blocking(move || close_through_rabbitmqctl(&name))
                .await
                .expect("rabbitmqctl ran")
        }
    }
}

async fn close_through_management_api(url: &str, name: &str) -> usize {
    let parsed = reqwest::Url::parse(url).expect("a management URL");
    let (user, password) = (
        parsed.username().to_owned(),
        parsed.password().unwrap_or_default().to_owned(),
    );
    let mut base = parsed.clone();
    base.set_username("").expect("a base URL");
    base.set_password(None).expect("a base URL");
    let base = base.as_str().trim_end_matches('/').to_owned();
    let client = reqwest::Client::new();
    let connections: Vec<serde_json::Value> = client
        .get(format!("{base}/api/connections"))
        .basic_auth(&user, Some(&password))
        .send()
        .await
        .expect("the management API answers")
        .error_for_status()
        .expect("the management API lists connections")
        .json()
        .await
        .expect("a JSON list");
    let mut closed = 0;
    for connection in connections {
        let named = connection["client_properties"]["connection_name"]
            .as_str()
            .is_some_and(|n| n.contains(name));
        let Some(id) = connection["name"].as_str().filter(|_| named) else {
            continue;
        };
        let mut target = reqwest::Url::parse(&format!("{base}/api/connections/")).expect("a URL");
        target
            .path_segments_mut()
            .expect("a base")
            .pop_if_empty()
            .push(id);
        let response = client
            .delete(target)
            .basic_auth(&user, Some(&password))
            .header("X-Reason", "test: simulated broker fault")
            .send()
            .await
            .expect("the management API answers");
        if response.status().is_success() {
            closed += 1;
        }
    }
    closed
}

fn close_through_rabbitmqctl(name: &str) -> usize {
    let output = Command::new("rabbitmqctl")
        .args([
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl is available where RabbitMQ runs");
    assert!(
        output.status.success(),
        "rabbitmqctl list_connections failed"
    );
    let listing = String::from_utf8_lossy(&output.stdout);
    let mut closed = 0;
    for line in listing.lines().filter(|line| line.contains(name)) {
        let Some(pid) = line.split_whitespace().next() else {
            continue;
        };
        let status = Command::new("rabbitmqctl")
            .args(["close_connection", pid, "test: simulated broker fault"])
            .output()
            .expect("rabbitmqctl close_connection");
        if status.status.success() {
            closed += 1;
        }
    }
    closed
}
