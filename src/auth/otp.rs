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

/// Delivers a code. The `log` driver writes it to the server log at info level with the
/// mobile number; this is the only place a code is ever logged.
pub fn deliver(driver: SmsDriver, mobile: &str, code: &str) {
    match driver {
        SmsDriver::Log => tracing::info!(mobile, otp = code, "SMS (log driver): one-time password"),
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
