//! One-time passwords: generation from the CSPRNG and delivery by the configured SMS driver.

use crate::config::SmsDriver;

/// A 6-digit code, uniform over 000000-999999, from the OS CSPRNG.
pub fn new_code() -> String {
    crate::secrets::random_string(6, b"0123456789")
}

/// Whether a mobile number is plausible: optional '+', then 6-15 digits.
pub fn valid_mobile(mobile: &str) -> bool {
    let digits = mobile.strip_prefix('+').unwrap_or(mobile);
    (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Delivers one-time passwords with the configured driver (SPEC 4.1).
#[derive(Clone)]
pub struct SmsSender {
    driver: SmsDriver,
    webhook: Option<(reqwest::Client, String)>,
}

/// The webhook could not take the message.
#[derive(Debug, thiserror::Error)]
#[error("SMS webhook failed: {0}")]
pub struct SmsError(String);

/// How long the webhook may take, in total.
const WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl SmsSender {
    /// A sender for `driver`; the webhook driver posts to `webhook_url`.
    pub fn new(driver: SmsDriver, webhook_url: Option<&str>) -> anyhow::Result<Self> {
        let webhook = match (driver, webhook_url) {
            (SmsDriver::Webhook, Some(url)) => Some((
                reqwest::Client::builder()
                    .timeout(WEBHOOK_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()?,
                url.to_string(),
            )),
            (SmsDriver::Webhook, None) => anyhow::bail!("SMS_WEBHOOK_URL is required"),
            (SmsDriver::Log, _) => None,
        };
        if driver == SmsDriver::Log {
            tracing::warn!(
                "SMS_DRIVER=log writes one-time passwords to the log: for development only; \
                 use SMS_DRIVER=webhook in production"
            );
        }
        Ok(Self { driver, webhook })
    }

    /// Sends the code. Only the `log` driver ever writes a code to the log.
    pub async fn deliver(&self, mobile: &str, code: &str) -> Result<(), SmsError> {
        match (self.driver, &self.webhook) {
            (SmsDriver::Log, _) => {
                tracing::info!(mobile, otp = code, "SMS (log driver): one-time password");
                Ok(())
            }
            (SmsDriver::Webhook, Some((client, url))) => {
                let message =
                    format!("{code} is your Plio one-time password. It expires in 5 minutes.");
                let res = client
                    .post(url)
                    .json(&serde_json::json!({"mobile": mobile, "message": message}))
                    .send()
                    .await
                    .map_err(|e| {
                        SmsError(
                            if e.is_timeout() {
                                "timed out"
                            } else {
                                "unreachable"
                            }
                            .into(),
                        )
                    })?;
                if res.status().is_success() {
                    Ok(())
                } else {
                    Err(SmsError(format!("status {}", res.status().as_u16())))
                }
            }
            (SmsDriver::Webhook, None) => Err(SmsError("no webhook configured".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_mobiles_are_checked() {
        let c = new_code();
        assert_eq!(c.len(), 6);
        assert!(c.bytes().all(|b| b.is_ascii_digit()));
        assert!(valid_mobile("+919876543210"));
        assert!(valid_mobile("9876543210"));
        assert!(!valid_mobile("98765"));
        assert!(!valid_mobile("98765abc10"));
        assert!(!valid_mobile("+"));
    }
}
