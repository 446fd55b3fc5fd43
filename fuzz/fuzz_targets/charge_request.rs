//! Arbitrary bytes read as the body of `POST /v1/charges` and as a stored `Charge`, then validated.
//!
//! Reading or validating must never panic (no overflow, no index out of range), and a charge that
//! passes validation must survive a round trip through its JSON unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posd::charge::Charge;
use posd::daemon::routes::ChargeRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<ChargeRequest>(data) {
        check(&request.into_parts().0);
    }
    if let Ok(charge) = serde_json::from_slice::<Charge>(data) {
        check(&charge);
    }
});

fn check(charge: &Charge) {
    if charge.validate().is_ok() {
        let text = serde_json::to_vec(charge).expect("a charge serialises");
        let back: Charge = serde_json::from_slice(&text).expect("a charge reads back");
        assert_eq!(&back, charge);
    }
}
