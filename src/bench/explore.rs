//! `faultlab bench explore`: guided exploration against the plain random swarm, from the same
//! generic scenario (a service's swarm file), with the same run budget, over disjoint campaign
//! seeds — runs to catch each planted bug, and distinct abstract states reached.

use crate::bugs::{Bug, BugSet};
use crate::explore::{ExploreError, ExploreOptions, Strategy, explore};
use crate::runner::RunOptions;
use crate::scenario::Scenario;
use serde::Serialize;

/// Runs to catch one bug, per campaign, for both strategies (`None`: not caught in budget).
#[derive(Debug, Clone, Serialize)]
pub struct BugRace {
    /// The generic scenario both start from.
    pub scenario: String,
    /// The bug.
    pub bug: String,
    /// Run budget per campaign.
    pub runs_max: u64,
    /// Guided: runs to the first failure, per campaign.
    pub guided: Vec<Option<u64>>,
    /// Random swarm: runs to the first failure, per campaign.
    pub random: Vec<Option<u64>>,
}

impl BugRace {
    /// Median runs to catch, an uncaught campaign counting as budget + 1.
    pub fn median(&self, strategy: Strategy) -> u64 {
        median(self.runs(strategy))
    }

    /// Worst campaign, an uncaught one counting as budget + 1.
    pub fn worst(&self, strategy: Strategy) -> u64 {
        self.runs(strategy).into_iter().max().unwrap_or(0)
    }

    /// Campaigns that caught the bug.
    pub fn caught(&self, strategy: Strategy) -> usize {
        self.side(strategy).iter().filter(|r| r.is_some()).count()
    }

    fn side(&self, strategy: Strategy) -> &[Option<u64>] {
        match strategy {
            Strategy::Guided => &self.guided,
            Strategy::Random => &self.random,
        }
    }

    fn runs(&self, strategy: Strategy) -> Vec<u64> {
        self.side(strategy)
            .iter()
            .map(|r| r.unwrap_or(self.runs_max + 1))
            .collect()
    }
}

/// Distinct abstract states and features reached in a fixed budget, correct code.
#[derive(Debug, Clone, Serialize)]
pub struct StatesRace {
    /// The scenario.
    pub scenario: String,
    /// Runs per campaign.
    pub runs: u64,
    /// Guided, per campaign: (abstract states, features).
    pub guided: Vec<(usize, usize)>,
    /// Random swarm, per campaign.
    pub random: Vec<(usize, usize)>,
}

impl StatesRace {
    /// Median distinct abstract states.
    pub fn median_states(&self, strategy: Strategy) -> u64 {
        let side = match strategy {
            Strategy::Guided => &self.guided,
            Strategy::Random => &self.random,
        };
        median(side.iter().map(|(s, _)| *s as u64).collect())
    }
}

/// The median (lower middle for an even count); 0 for none.
pub fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

/// How a race runs.
#[derive(Debug, Clone)]
pub struct RaceOptions {
    /// Campaigns per strategy (campaign seeds 1..=campaigns).
    pub campaigns: u64,
    /// Run budget per campaign.
    pub runs: u64,
    /// Threads per campaign.
    pub jobs: usize,
    /// Backend and the rest.
    pub run: RunOptions,
}

fn campaign(
    sc: &Scenario,
    text: &str,
    o: &RaceOptions,
    seed: u64,
    strategy: Strategy,
    bugs: BugSet,
    stop: bool,
) -> Result<crate::explore::ExploreReport, ExploreError> {
    let opts = ExploreOptions {
        runs: o.runs,
        jobs: o.jobs,
        campaign_seed: seed,
        strategy,
        run: RunOptions {
            extra_bugs: bugs,
            ..o.run.clone()
        },
        stop_at_first_failure: stop,
        seed_inputs: Vec::new(),
    };
    explore(sc, text, &opts, &|_| {})
}

/// Races guided against random on `bug`, from `sc`.
pub fn race_bug(
    sc: &Scenario,
    text: &str,
    bug: Bug,
    o: &RaceOptions,
) -> Result<BugRace, ExploreError> {
    let mut race = BugRace {
        scenario: sc.name.clone(),
        bug: bug.to_string(),
        runs_max: o.runs,
        guided: Vec::new(),
        random: Vec::new(),
    };
    for seed in 1..=o.campaigns {
        for strategy in [Strategy::Guided, Strategy::Random] {
            let bugs: BugSet = std::iter::once(bug).collect();
            let r = campaign(sc, text, o, seed, strategy, bugs, true)?;
            let caught = r.first_failure().map(|f| f.run);
            match strategy {
                Strategy::Guided => race.guided.push(caught),
                Strategy::Random => race.random.push(caught),
            }
        }
    }
    Ok(race)
}

/// Races guided against random on coverage, correct code.
pub fn race_states(sc: &Scenario, text: &str, o: &RaceOptions) -> Result<StatesRace, ExploreError> {
    let mut race = StatesRace {
        scenario: sc.name.clone(),
        runs: o.runs,
        guided: Vec::new(),
        random: Vec::new(),
    };
    for seed in 1..=o.campaigns {
        for strategy in [Strategy::Guided, Strategy::Random] {
            let r = campaign(sc, text, o, seed, strategy, BugSet::new(), false)?;
            let point = (r.states(), r.features());
            match strategy {
                Strategy::Guided => race.guided.push(point),
                Strategy::Random => race.random.push(point),
            }
        }
    }
    Ok(race)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_count_an_uncaught_campaign_as_over_budget() {
        let race = BugRace {
            scenario: "s".into(),
            bug: "b".into(),
            runs_max: 10,
            guided: vec![Some(2), Some(4), None],
            random: vec![None, None, Some(1)],
        };
        assert_eq!(race.median(Strategy::Guided), 4);
        assert_eq!(race.worst(Strategy::Guided), 11);
        assert_eq!(race.median(Strategy::Random), 11);
        assert_eq!(
            (race.caught(Strategy::Guided), race.caught(Strategy::Random)),
            (2, 1)
        );
        assert_eq!(median(vec![]), 0);
        assert_eq!(median(vec![5, 1, 3, 2]), 2);
    }
}
