//! The conflict RPCs of `CustomerSync`: list, get and resolve. Ids and choices are checked here,
//! before the store or a vendor is touched.

use isthmus_engine::customers::{Choice, CustomerFlows};
use isthmus_grpc::ids::record_id;
use isthmus_proto::customers::v1::{
    Conflict, ConflictChoice, ConflictState, GetConflictRequest, ListConflictsRequest,
    ListConflictsResponse, ResolveConflictRequest,
};
use isthmus_proto::ErrorCode;
use isthmus_store::ConflictQuery;
use tonic::Status;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

pub async fn list(
    flows: &CustomerFlows,
    request: ListConflictsRequest,
) -> Result<ListConflictsResponse, Status> {
    let state = match ConflictState::try_from(request.state) {
        Ok(ConflictState::Unspecified) => None,
        Ok(ConflictState::Parked) => Some(isthmus_store::ConflictState::Parked),
        Ok(ConflictState::Resolved) => Some(isthmus_store::ConflictState::Resolved),
        Err(_) => {
            return Err(ErrorCode::InvalidArgument
                .status(format!("unknown conflict state {}", request.state)))
        }
    };
    let limit = match request.limit as usize {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    let query = ConflictQuery {
        state,
        limit,
        offset: request.offset as usize,
    };
    let (conflicts, total) =
        futures::try_join!(flows.conflicts(&query), flows.conflict_count(state))?;
    Ok(ListConflictsResponse {
        conflicts: conflicts.into_iter().map(message).collect(),
        total,
    })
}

pub async fn get(flows: &CustomerFlows, request: GetConflictRequest) -> Result<Conflict, Status> {
    let id = record_id(&request.id, "a conflict id")?;
    let conflict = flows
        .conflict(id.as_str())
        .await?
        .ok_or_else(|| ErrorCode::NotFound.status(format!("no conflict {id}")))?;
    Ok(message(conflict))
}

pub async fn resolve(
    flows: &CustomerFlows,
    log: &isthmus_engine::audit::SyncLog,
    request: ResolveConflictRequest,
    trace_id: &str,
) -> Result<Conflict, Status> {
    let id = record_id(&request.id, "a conflict id")?;
    let choice = match (ConflictChoice::try_from(request.choose), request.value) {
        (Ok(ConflictChoice::Value), value) => Choice::Value(value),
        (Ok(ConflictChoice::Salesforce | ConflictChoice::Netsuite), Some(_)) => {
            return Err(ErrorCode::InvalidArgument.status("value goes only with choose = value"))
        }
        (Ok(ConflictChoice::Salesforce), None) => Choice::Salesforce,
        (Ok(ConflictChoice::Netsuite), None) => Choice::NetSuite,
        _ => {
            return Err(
                ErrorCode::InvalidArgument.status("choose must be salesforce, netsuite or value")
            )
        }
    };
    let actor = request.actor.trim();
    if actor.len() > 100 || actor.chars().any(char::is_control) {
        return Err(
            ErrorCode::InvalidArgument.status("actor must be at most 100 printable characters")
        );
    }
    let resolved = flows
        .resolve_conflict(id.as_str(), choice, trace_id)
        .await?;
    log.resolved(&resolved, actor).await;
    Ok(message(resolved))
}

fn message(conflict: isthmus_store::Conflict) -> Conflict {
    let state = conflict.state().as_str().to_string();
    let resolution = conflict
        .resolution
        .unwrap_or_else(|| isthmus_store::ConflictResolution {
            winner: String::new(),
            value: None,
            by: String::new(),
            trace_id: String::new(),
            resolved_at_ms: 0,
        });
    Conflict {
        id: conflict.id,
        flow: conflict.flow,
        salesforce_id: conflict.salesforce_id,
        netsuite_id: conflict.netsuite_id,
        field: conflict.field,
        salesforce_value: conflict.salesforce_value,
        netsuite_value: conflict.netsuite_value,
        last_synced_value: conflict.last_synced_value,
        policy: conflict.policy,
        state,
        winner: resolution.winner,
        resolved_value: resolution.value,
        resolved_by: resolution.by,
        trace_id: conflict.trace_id,
        detected_at_ms: conflict.detected_at_ms,
        resolved_at_ms: resolution.resolved_at_ms,
    }
}
