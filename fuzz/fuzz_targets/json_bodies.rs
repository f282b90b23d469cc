//! Request bodies from the network: parsing must answer Ok or a problem, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motcua::http::{
    accounts::{CreateUser, PatchUser, TokenRequest},
    calendar::{OfficeHoursDto, PutDayRequest},
    catalogue::{CreateUnit, PatchUnit, ProcedureRequest},
    dossiers::{ActionRequest, ReceiveRequest},
    extract::parse_json,
};

fuzz_target!(|data: &[u8]| {
    let _ = parse_json::<ReceiveRequest>(data);
    let _ = parse_json::<ActionRequest>(data);
    let _ = parse_json::<ProcedureRequest>(data);
    let _ = parse_json::<CreateUnit>(data);
    let _ = parse_json::<PatchUnit>(data);
    let _ = parse_json::<PutDayRequest>(data);
    let _ = parse_json::<TokenRequest>(data);
    let _ = parse_json::<CreateUser>(data);
    let _ = parse_json::<PatchUser>(data);
    let _ = parse_json::<OfficeHoursDto>(data);
});
