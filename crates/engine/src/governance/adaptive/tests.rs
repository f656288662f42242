//! The adaptive limit's behaviour, event by event, on the memory store.

use isthmus_store::MemoryStore;

use super::*;

const NAME: &str = "netsuite-concurrency-limit";

fn policy(ceiling: u32) -> AdaptivePolicy {
    AdaptivePolicy {
        climb_rounds: 2,
        probe_after: Duration::from_secs(10),
        probe_after_max: Duration::from_secs(40),
        ..AdaptivePolicy::new(ceiling)
    }
}

fn limit(store: &Arc<MemoryStore>, ceiling: u32) -> AdaptiveLimit {
    AdaptiveLimit::new(store.clone(), NAME, policy(ceiling))
}

/// Takes `n` slots at the limit in force, as the gate does.
async fn admit(adaptive: &AdaptiveLimit, names: &[&str]) {
    let generation = adaptive.current().await.generation;
    for name in names {
        adaptive.admitted(name, generation);
    }
}

/// One call admitted at the limit in force, answered as `refused` says.
async fn answer(adaptive: &AdaptiveLimit, refused: bool) {
    admit(adaptive, &["s"]).await;
    match refused {
        true => adaptive.over_limit("s").await,
        false => adaptive.succeeded("s").await,
    }
}

/// Successes answered until the limit leaves `from` (bounded).
async fn successes_to_leave(adaptive: &AdaptiveLimit, from: u32) -> u64 {
    let mut successes = 0;
    while adaptive.current().await.limit == from && successes < 10_000 {
        answer(adaptive, false).await;
        successes += 1;
    }
    successes
}

async fn shared(store: &MemoryStore) -> LimitState {
    serde_json::from_slice(&store.status(NAME).await.unwrap().unwrap()).unwrap()
}

#[test]
fn a_decrease_is_multiplicative_at_least_one_and_never_below_the_floor() {
    let p = AdaptivePolicy::new(20);
    assert_eq!(p.decreased(20), 10);
    assert_eq!(p.decreased(15), 7);
    let small: Vec<u32> = [5, 4, 3, 2, 1].map(|l| p.decreased(l)).to_vec();
    assert_eq!(small, [2, 2, 1, 1, 1]);
    let gentle = AdaptivePolicy { decrease: 0.9, ..p };
    assert_eq!(gentle.decreased(5), 4, "at least one");
}

#[test]
fn the_probe_wait_is_jittered_by_generation_and_backs_off_to_its_maximum() {
    let p = policy(5);
    let waits: Vec<Duration> = (0..200)
        .map(|generation| {
            p.probe_wait(&LimitState {
                generation,
                ..LimitState::fixed(3)
            })
        })
        .collect();
    assert!(waits
        .iter()
        .all(|w| *w >= Duration::from_secs(5) && *w < Duration::from_secs(15)));
    let (short, long) = (waits.iter().min().unwrap(), waits.iter().max().unwrap());
    assert!(
        *long - *short > Duration::from_secs(8),
        "{short:?}..{long:?}"
    );
    let mut state = LimitState::fixed(3);
    let mut backed = Vec::new();
    for _ in 0..4 {
        state.probe_wait_ms = p.backed_off(&state);
        backed.push(state.probe_wait_ms);
    }
    assert_eq!(backed, [20_000, 40_000, 40_000, 40_000]);
}

#[tokio::test(start_paused = true)]
async fn concurrent_refusals_of_one_event_decrease_the_limit_once() {
    let store = Arc::new(MemoryStore::new());
    let adaptive = limit(&store, 5);
    admit(&adaptive, &["a", "b", "c"]).await;
    for slot in ["a", "b", "c"] {
        adaptive.over_limit(slot).await;
    }
    let after = adaptive.current().await;
    assert_eq!((after.limit, after.generation), (2, 1));
    assert_eq!(after.refused_at, Some(5));
    assert_eq!(
        shared(&store).await,
        after,
        "the store holds the one decrease"
    );
    // A call admitted under the new limit and refused is a new event.
    answer(&adaptive, true).await;
    assert_eq!(adaptive.current().await.limit, 1);
}

#[tokio::test(start_paused = true)]
async fn the_limit_climbs_fast_below_the_level_refused_and_a_rise_refused_on_trial_goes_back_one_step(
) {
    let store = Arc::new(MemoryStore::new());
    let adaptive = limit(&store, 8);
    answer(&adaptive, true).await;
    assert_eq!(adaptive.current().await.limit, 4);
    // 4 → 5, below the level refused: 2 rounds of 4, then on trial.
    assert_eq!(successes_to_leave(&adaptive, 4).await, 8);
    let state = adaptive.current().await;
    assert_eq!((state.limit, state.on_trial), (5, true));
    // Refused on trial: one step too many, back to 4 (not ⌊β · 5⌋), the wait doubled.
    answer(&adaptive, true).await;
    let state = adaptive.current().await;
    assert_eq!(
        (
            state.limit,
            state.refused_at,
            state.on_trial,
            state.probe_wait_ms
        ),
        (4, Some(5), false, 20_000)
    );
    assert_eq!(shared(&store).await, state);
    // Refused again at 4, which had proved itself: congestion, down by β.
    answer(&adaptive, true).await;
    let state = adaptive.current().await;
    assert_eq!((state.limit, state.probe_wait_ms), (2, 0));
}

#[tokio::test(start_paused = true)]
async fn the_level_refused_is_probed_after_a_wait_in_time_and_forgotten_once_reached() {
    let store = Arc::new(MemoryStore::new());
    let adaptive = limit(&store, 3);
    answer(&adaptive, true).await;
    let state = adaptive.current().await;
    assert_eq!((state.limit, state.refused_at), (1, Some(3)));
    // 1 → 2 is a climb (below the level refused), and passes its trial.
    assert_eq!(successes_to_leave(&adaptive, 1).await, 2);
    for _ in 0..4 {
        answer(&adaptive, false).await;
    }
    let state = adaptive.current().await;
    assert_eq!((state.limit, state.on_trial), (2, false));
    // 2 → 3 reaches the level refused: however many successes, not before the wait.
    for _ in 0..1000 {
        answer(&adaptive, false).await;
    }
    assert_eq!(adaptive.current().await.limit, 2);
    tokio::time::advance(policy(3).probe_wait(&state)).await;
    answer(&adaptive, false).await;
    let state = adaptive.current().await;
    assert_eq!((state.limit, state.on_trial), (3, true));
    for _ in 0..6 {
        answer(&adaptive, false).await;
    }
    let state = adaptive.current().await;
    assert_eq!(
        (state.limit, state.on_trial, state.refused_at),
        (3, false, None),
        "the level reached is forgotten"
    );
    assert_eq!(shared(&store).await, state);
    // Successes of calls admitted under an older limit do not count.
    answer(&adaptive, true).await;
    adaptive.admitted("old", 0);
    for _ in 0..100 {
        adaptive.succeeded("old").await;
    }
    assert_eq!(adaptive.current().await.limit, 1);
}

#[tokio::test(start_paused = true)]
async fn the_ceiling_holds_and_the_floor_is_one() {
    let store = Arc::new(MemoryStore::new());
    let adaptive = limit(&store, 2);
    for _ in 0..1000 {
        answer(&adaptive, false).await;
    }
    assert_eq!(adaptive.current().await.limit, 2);
    assert!(
        store.status(NAME).await.unwrap().is_none(),
        "nothing changed, nothing written"
    );
    for _ in 0..5 {
        answer(&adaptive, true).await;
    }
    assert_eq!(adaptive.current().await.limit, 1);
    assert_eq!(shared(&store).await.limit, 1);
}

#[tokio::test(start_paused = true)]
async fn replicas_agree_through_the_store_and_one_event_counts_once() {
    let store = Arc::new(MemoryStore::new());
    let (a, b) = (limit(&store, 5), limit(&store, 5));
    admit(&a, &["a1"]).await;
    admit(&b, &["b1"]).await;
    // Both replicas see a refusal of the same generation: one decrease, not two.
    a.over_limit("a1").await;
    b.over_limit("b1").await;
    let state = shared(&store).await;
    assert_eq!((state.limit, state.generation), (2, 1));
    // A new replica starts from the shared limit; the others read it again after `refresh`.
    let c = limit(&store, 5);
    assert_eq!(c.current().await.limit, 2);
    answer(&c, true).await;
    assert_eq!(a.current().await.limit, 2, "read within refresh: cached");
    tokio::time::advance(policy(5).refresh).await;
    assert_eq!(a.current().await.limit, 1);
}
