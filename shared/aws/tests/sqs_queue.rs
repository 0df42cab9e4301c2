//! `SqsJobQueue` against the emulator `make test` starts, with the real SDK: what `send` and
//! `send_all` queue comes off the queue as the same messages, traceparent included.

use std::collections::HashMap;

use helix_aws::SqsJobQueue;
use helix_domain::{JobId, JobMessage, JobQueue, TRACEPARENT_ATTRIBUTE};

fn client() -> aws_sdk_sqs::Client {
    let endpoint = std::env::var("HELIX_TEST_AWS_ENDPOINT")
        .expect("HELIX_TEST_AWS_ENDPOINT is not set: run the tests with `make test`, which starts the emulator");
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// Every message on the queue, by body, with its traceparent.
async fn drain(client: &aws_sdk_sqs::Client, queue_url: &str) -> HashMap<String, Option<String>> {
    let mut received = HashMap::new();
    loop {
        let batch = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = batch.messages();
        if messages.is_empty() {
            return received;
        }
        for message in messages {
            let traceparent = message
                .message_attributes()
                .and_then(|attributes| attributes.get(TRACEPARENT_ATTRIBUTE))
                .and_then(|value| value.string_value().map(str::to_owned));
            assert!(received.insert(message.body().unwrap().to_owned(), traceparent).is_none(), "a duplicate");
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn messages_sent_one_by_one_or_in_batches_arrive_whole() {
    let client = client();
    let name = format!("q{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let queue_url = client.create_queue().queue_name(name).send().await.unwrap().queue_url().unwrap().to_owned();
    let queue = SqsJobQueue::new(client.clone(), &queue_url);

    // 23 messages: three requests of SendMessageBatch (10, 10, 3), every other one traced.
    let messages: Vec<JobMessage> = (0..23)
        .map(|i| JobMessage {
            job_id: JobId::from(format!("j-{i}").as_str()),
            retry: i,
            traceparent: (i % 2 == 0).then(|| format!("00-{:032x}-{:016x}-01", i + 1, i + 1)),
            shard: None,
        })
        .collect();
    queue.send_all(&messages).await.unwrap();
    queue
        .send(&JobMessage { job_id: JobId::from("j-single"), retry: 0, traceparent: None, shard: None })
        .await
        .unwrap();

    let received = drain(&client, &queue_url).await;
    assert_eq!(received.len(), 24);
    for message in &messages {
        let body = serde_json::to_string(message).unwrap();
        assert_eq!(received.get(&body), Some(&message.traceparent), "{body}");
    }
    assert_eq!(received.get(r#"{"job_id":"j-single"}"#), Some(&None));
}
