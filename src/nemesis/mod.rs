//! The nemesis: turns a scenario's fault plan into actions on the world at simulated times,
//! resolving open choices (which node, which partition) with its own seeded RNG, and logging
//! every applied fault — or why a planned one could not apply.

mod apply;
pub mod plan;

use crate::backend::SimDriver;
use crate::event::Event;
use crate::fault::Fault;
use crate::ids::NodeId;
use crate::rng::{DetRng, RunSeeds};
use crate::scenario::Scenario;
use crate::time::SimTime;
use crate::world::WorldState;
use plan::{Plan, Planned, build_plan};
use std::cell::RefCell;

/// Applies a scenario's faults to a world at their times.
pub struct Nemesis {
    plan: Plan,
    rng: DetRng,
    nodes: Vec<NodeId>,
    /// Bound on nodes down or paused at once, for randomly drawn crashes and pauses.
    down_nodes_max: u32,
}

impl Nemesis {
    /// The nemesis of one run: its plan is drawn now, from the run's nemesis stream.
    pub fn new(scenario: &Scenario, seeds: &RunSeeds) -> Self {
        let mut rng = seeds.nemesis();
        let plan = build_plan(scenario, &mut rng);
        let down_nodes_max = scenario
            .random
            .as_ref()
            .and_then(|r| r.down_nodes_max)
            .unwrap_or(scenario.nodes.saturating_sub(1) / 2);
        Nemesis {
            plan,
            rng,
            nodes: scenario.node_ids(),
            down_nodes_max,
        }
    }

    /// What is still to come.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// When the nemesis next has something to do (ms of true time), if ever.
    pub fn next_due_ms(&self) -> Option<u64> {
        self.plan.next_due_ms()
    }

    /// Applies everything due by `now`.
    pub fn apply_due(
        &mut self,
        driver: &mut dyn SimDriver,
        world: &RefCell<WorldState>,
        now: SimTime,
    ) {
        while let Some((_, planned)) = self.plan.pop_due(now.as_ms()) {
            match planned {
                Planned::Fault {
                    spec,
                    revert_after_ms,
                    random,
                } => {
                    let limit = random.then_some(self.down_nodes_max);
                    let resolved =
                        apply::resolve(&spec, &self.nodes, limit, &world.borrow(), &mut self.rng);
                    match resolved {
                        Ok(action) => {
                            let applied =
                                apply::apply(&action, driver, &mut world.borrow_mut(), now);
                            if applied
                                && let (Some(after), Some(undo)) = (revert_after_ms, action.undo())
                            {
                                self.plan
                                    .push(now.as_ms().saturating_add(after), Planned::Revert(undo));
                            }
                        }
                        Err(reason) => {
                            let fault = spec.name().to_string();
                            world
                                .borrow_mut()
                                .log(now, Event::FaultSkipped { fault, reason });
                        }
                    }
                }
                Planned::Revert(action) => {
                    apply::apply(&action, driver, &mut world.borrow_mut(), now);
                }
            }
        }
    }

    /// Ends the safety phase: drops the rest of the plan and heals everything — partitions,
    /// network rules, pauses and crashes — so the liveness phase can check progress.
    pub fn heal_all(
        &mut self,
        driver: &mut dyn SimDriver,
        world: &RefCell<WorldState>,
        now: SimTime,
    ) {
        self.plan = Plan::default();
        let mut w = world.borrow_mut();
        w.log(now, Event::HealAll);
        let mut actions = Vec::new();
        if w.net.faults.cut_count() > 0 {
            actions.push(Fault::Heal { ends: None });
        }
        if w.net.faults.has_rules() {
            actions.push(Fault::NetCalm { ends: None });
        }
        if w.nodes.iter().any(|slot| slot.disk.has_rules()) {
            actions.push(Fault::DiskCalm { ends: None });
        }
        for n in self.nodes.iter().copied() {
            let slot = w.node(n);
            if !slot.up {
                actions.push(Fault::Restart { node: n });
            } else if slot.paused {
                actions.push(Fault::Resume { node: n });
            }
        }
        for action in actions {
            apply::apply(&action, driver, &mut w, now);
        }
    }
}
