//! The names the dashboard shows for the protocol's enums (strum's `IntoStaticStr`) are
//! their wire names (serde): the page's `data-status="running"` or `class="log-info"`
//! says exactly what the message said.

use protocol::{DecisionAction, LogLevel, RunStatus, Side, Structure, TradeAction};
use serde::Serialize;
use strum::VariantArray;

/// Every variant of `E` serialises to the JSON string of its strum name.
fn assert_names_are_wire_names<E>()
where
    E: VariantArray + Serialize + Copy + std::fmt::Debug + Into<&'static str>,
{
    for variant in E::VARIANTS {
        let name: &'static str = (*variant).into();
        let wire = serde_json::to_value(variant).expect("a unit variant serialises");
        assert_eq!(wire, serde_json::Value::from(name), "{variant:?}");
    }
}

#[test]
fn every_enum_the_dashboard_shows_is_named_as_on_the_wire() {
    assert_names_are_wire_names::<Side>();
    assert_names_are_wire_names::<TradeAction>();
    assert_names_are_wire_names::<LogLevel>();
    assert_names_are_wire_names::<RunStatus>();
    assert_names_are_wire_names::<DecisionAction>();
    assert_names_are_wire_names::<Structure>();
}
