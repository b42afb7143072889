//! In which order a shutdown stops the main command and the services
//! (issue 16). Stopping both at once lets an app drain while the helpers
//! it needs (a database proxy, a log shipper) are already going, so by
//! default the main command is stopped first and the services once it
//! has exited; [`ENV_SHUTDOWN_ORDER`]` = services-first` reverses that
//! (helpers that must flush into the app first).
//!
//! Both stages share the one shutdown deadline. The first stage may use
//! at most half of it ([`FIRST_SHARE`]): when that is spent the second
//! group is stopped too, so it keeps time to stop cleanly before the
//! final kill. Without a main command there is one stage.
//!
//! Pure: [`Stages`] takes the time and "group done" events and says whom
//! to send TERM (with each member's own stop signal) and when.

use std::time::{Duration, Instant};

pub const ENV_SHUTDOWN_ORDER: &str = "SVSCAN_SHUTDOWN_ORDER";
/// The first stage's share of the shutdown timeout, at most.
pub const FIRST_SHARE: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    /// `command-first` (the default).
    #[default]
    CommandFirst,
    /// `services-first`.
    ServicesFirst,
}

impl Order {
    pub fn parse(s: &str) -> Option<Order> {
        match s.trim() {
            "command-first" => Some(Order::CommandFirst),
            "services-first" => Some(Order::ServicesFirst),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Command,
    Services,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Time passed.
    Tick,
    /// Every member of the group has exited.
    Done(Group),
}

/// Stop this group now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stop(pub Group);

#[derive(Clone, Debug)]
pub struct Stages {
    second: Option<Group>,
    /// When the second group is stopped even if the first is not done.
    second_at: Instant,
}

impl Stages {
    /// Starts a shutdown at `now` with `timeout` in all; returns the
    /// machine and the groups to stop at once.
    pub fn begin(
        order: Order,
        has_command: bool,
        now: Instant,
        timeout: Duration,
    ) -> (Stages, Vec<Stop>) {
        let second_at = now + timeout / FIRST_SHARE;
        if !has_command {
            return (
                Stages {
                    second: None,
                    second_at,
                },
                vec![Stop(Group::Services)],
            );
        }
        let (first, second) = match order {
            Order::CommandFirst => (Group::Command, Group::Services),
            Order::ServicesFirst => (Group::Services, Group::Command),
        };
        (
            Stages {
                second: Some(second),
                second_at,
            },
            vec![Stop(first)],
        )
    }

    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Stop> {
        let Some(second) = self.second else {
            return Vec::new();
        };
        let first_done = matches!(event, Event::Done(g) if g != second);
        if first_done || now >= self.second_at {
            self.second = None;
            return vec![Stop(second)];
        }
        Vec::new()
    }

    /// When to be woken, while the second group waits.
    pub fn deadline(&self) -> Option<Instant> {
        self.second.map(|_| self.second_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_first_then_services_when_it_exits() {
        let t0 = Instant::now();
        let (mut s, now) = Stages::begin(Order::CommandFirst, true, t0, Duration::from_secs(10));
        assert_eq!(now, [Stop(Group::Command)]);
        assert_eq!(s.deadline(), Some(t0 + Duration::from_secs(5)));
        assert!(s
            .handle(t0 + Duration::from_secs(1), Event::Tick)
            .is_empty());
        assert_eq!(
            s.handle(t0 + Duration::from_secs(2), Event::Done(Group::Command)),
            [Stop(Group::Services)]
        );
        assert_eq!(s.deadline(), None);
        assert!(s
            .handle(t0 + Duration::from_secs(3), Event::Done(Group::Services))
            .is_empty());
    }

    #[test]
    fn the_first_stage_gets_half_the_deadline() {
        let t0 = Instant::now();
        let (mut s, _) = Stages::begin(Order::CommandFirst, true, t0, Duration::from_secs(9));
        assert_eq!(
            s.handle(t0 + Duration::from_millis(4500), Event::Tick),
            [Stop(Group::Services)]
        );
        assert!(s
            .handle(t0 + Duration::from_secs(6), Event::Done(Group::Command))
            .is_empty());
    }

    #[test]
    fn reversed_and_without_command() {
        let t0 = Instant::now();
        let (mut s, now) = Stages::begin(Order::ServicesFirst, true, t0, Duration::from_secs(10));
        assert_eq!(now, [Stop(Group::Services)]);
        assert_eq!(
            s.handle(t0, Event::Done(Group::Services)),
            [Stop(Group::Command)]
        );
        let (s, now) = Stages::begin(Order::CommandFirst, false, t0, Duration::from_secs(10));
        assert_eq!(now, [Stop(Group::Services)]);
        assert_eq!(s.deadline(), None);
        assert_eq!(Order::parse("services-first\n"), Some(Order::ServicesFirst));
        assert_eq!(Order::parse("together"), None);
    }
}
