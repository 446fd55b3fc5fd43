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
        let charge = Charge {
            amount: request.amount,
            items: request.items,
            discount: request.discount,
            shipping_fee: request.shipping_fee,
            invoice: request.invoice,
            echo: request.echo,
            user_id: request.user_id,
        };
        check(&charge);
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
