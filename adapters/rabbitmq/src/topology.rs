use anyhow::Context as _;
use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

/// The broker objects events travel through:
///
/// - `exchange`: a durable topic exchange; each event is published with its type name
///   (`shares_purchased`, …) as routing key.
/// - `queue`: the projector's durable quorum queue, bound to `exchange` for every key (`#`),
///   dead-lettering to `dead_letter_exchange`.
/// - `dead_letter_exchange`: a durable fanout exchange, and `dead_letter_queue`, the durable
///   queue bound to it, where messages that cannot be applied wait for an operator.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Topology {
    pub exchange: String,
    pub queue: String,
    pub dead_letter_exchange: String,
    pub dead_letter_queue: String,
}

impl Topology {
    /// `<prefix>.events`, `<prefix>.projector`, and `<prefix>.dead` for both the dead-letter
    /// exchange and queue.
    #[must_use]
    pub fn named(prefix: &str) -> Self {
        Self {
            exchange: format!("{prefix}.events"),
            queue: format!("{prefix}.projector"),
            dead_letter_exchange: format!("{prefix}.dead"),
            dead_letter_queue: format!("{prefix}.dead"),
        }
    }

    /// Declares the exchanges, queues and bindings. Idempotent: declaring what exists with the
    /// same settings changes nothing.
    ///
    /// # Errors
    /// When the broker refuses (e.g. an object exists with other settings; the channel is then
    /// closed) or the connection fails.
    pub async fn declare(&self, channel: &Channel) -> anyhow::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                self.dead_letter_exchange.as_str().into(),
                ExchangeKind::Fanout,
                durable,
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("declaring exchange {}", self.dead_letter_exchange))?;
        channel
            .queue_declare(
                self.dead_letter_queue.as_str().into(),
                QueueDeclareOptions::durable(),
                quorum(),
            )
            .await
            .with_context(|| format!("declaring queue {}", self.dead_letter_queue))?;
        channel
            .queue_bind(
                self.dead_letter_queue.as_str().into(),
                self.dead_letter_exchange.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("binding queue {}", self.dead_letter_queue))?;

        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("declaring exchange {}", self.exchange))?;
        let mut arguments = quorum();
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.dead_letter_exchange.as_str().into()),
        );
        channel
            .queue_declare(
                self.queue.as_str().into(),
                QueueDeclareOptions::durable(),
                arguments,
            )
            .await
            .with_context(|| format!("declaring queue {}", self.queue))?;
        channel
            .queue_bind(
                self.queue.as_str().into(),
                self.exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("binding queue {}", self.queue))?;
        Ok(())
    }

    /// Deletes the exchanges and queues, with the messages they hold (for tests and teardown).
    ///
    /// # Errors
    /// When the broker refuses or the connection fails.
    pub async fn delete(&self, channel: &Channel) -> anyhow::Result<()> {
        for queue in [&self.queue, &self.dead_letter_queue] {
            channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
                .with_context(|| format!("deleting queue {queue}"))?;
        }
        for exchange in [&self.exchange, &self.dead_letter_exchange] {
            channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await
                .with_context(|| format!("deleting exchange {exchange}"))?;
        }
        Ok(())
    }
}

fn quorum() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        ShortString::from("x-queue-type"),
        AMQPValue::LongString("quorum".into()),
    );
    arguments
}
