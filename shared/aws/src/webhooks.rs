//! The webhook queue on SQS (a retry is the received message's visibility pushed out by the
//! backoff) and the HTTP client that POSTs deliveries, to public addresses only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use helix_domain::{DeliveryMessage, StoreError, WebhookPost, WebhookQueue, WebhookSender};
use helix_jobs::Destinations;

use crate::dynamo::backend;

/// SQS's longest visibility timeout.
const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

pub struct SqsWebhookQueue {
    client: Client,
    queue_url: String,
}

impl SqsWebhookQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }
}

#[async_trait]
impl WebhookQueue for SqsWebhookQueue {
    async fn send(&self, message: &DeliveryMessage) -> Result<(), StoreError> {
        let body = serde_json::to_string(message).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.client.send_message().queue_url(&self.queue_url).message_body(body).send().await.map_err(backend)?;
        Ok(())
    }

    async fn postpone(&self, receipt_handle: &str, delay: Duration) -> Result<(), StoreError> {
        let seconds = i32::try_from(delay.min(MAX_VISIBILITY).as_secs()).unwrap_or(i32::MAX);
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// The HTTP client's own lookup: only the addresses [`Destinations`] allows, so a name that
/// resolved to a public address when checked cannot connect to a private one a moment later.
struct AllowedAddresses(Arc<Destinations>);

impl reqwest::dns::Resolve for AllowedAddresses {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let destinations = self.0.clone();
        Box::pin(async move {
            let host = name.as_str();
            let found = destinations.resolver.resolve(host, 0).await?;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| destinations.allows(*ip).is_ok())
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// POSTs with a timeout and without following redirects: a delivery goes to the URL registered,
/// and a 3xx counts as a failed attempt. It connects to the addresses `destinations` allows only.
pub struct HttpWebhookSender {
    client: reqwest::Client,
    destinations: Arc<Destinations>,
}

impl HttpWebhookSender {
    pub fn new(timeout: Duration, destinations: Arc<Destinations>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(AllowedAddresses(destinations.clone())))
            .build()?;
        Ok(Self { client, destinations })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn post(&self, post: &WebhookPost) -> Result<u16, String> {
        let mut request = self.client.post(&post.url).body(post.body.clone());
        for (name, value) in &post.headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) if e.is_timeout() => Err("the receiver did not answer in time".into()),
            Err(e) if e.is_connect() => Err("could not connect to the receiver".into()),
            Err(e) => Err(format!("the request failed: {e}")),
        }
    }

    async fn refuses(&self, url: &str) -> Option<String> {
        self.destinations.check(url).await.err()
    }
}
