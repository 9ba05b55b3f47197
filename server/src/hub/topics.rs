//! The topics this process holds, by name, under a cap (docs/SPEC.md section 12): in memory
//! they are the topics themselves; with Redis, replicas of the ones used here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockWriteGuard};
use std::time::{Duration, Instant};

use protocol::Topic;

use super::channel::Channel;
use super::stats::HubStats;
use super::{HubConfig, TopicsFull};

pub(super) struct Topics {
    pub config: HubConfig,
    pub stats: HubStats,
    map: RwLock<HashMap<Topic, Arc<Channel>>>,
    /// When idle topics were last dropped.
    last_sweep: Mutex<Instant>,
}

impl Topics {
    pub fn new(config: HubConfig) -> Self {
        Topics {
            config,
            stats: HubStats::default(),
            map: RwLock::default(),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    pub fn count(&self) -> usize {
        self.map.read().map(|t| t.len()).unwrap_or_default()
    }

    pub fn get(&self, topic: &Topic) -> Option<Arc<Channel>> {
        self.map.read().ok()?.get(topic).cloned()
    }

    /// Every topic held, for a sweep over them.
    pub fn all(&self) -> Vec<(Topic, Arc<Channel>)> {
        self.map
            .read()
            .map(|m| m.iter().map(|(t, c)| (t.clone(), c.clone())).collect())
            .unwrap_or_default()
    }

    /// The topic, or `make`'s channel added under the cap: at the cap, idle topics make
    /// room first.
    pub fn get_or_insert(
        &self,
        topic: &Topic,
        make: impl FnOnce() -> Channel,
    ) -> Result<Arc<Channel>, TopicsFull> {
        if let Some(channel) = self.get(topic) {
            return Ok(channel);
        }
        let mut map = self.write();
        if let Some(channel) = map.get(topic) {
            return Ok(channel.clone());
        }
        let limit = self.config.max_topics;
        if map.len() >= limit {
            self.sweep(&mut map, true);
            if map.len() >= limit {
                return Err(TopicsFull { limit });
            }
        }
        let channel = Arc::new(make());
        map.insert(topic.clone(), channel.clone());
        Ok(channel)
    }

    /// A fresh channel for `topic` in memory.
    pub fn new_channel(&self, topic: &Topic) -> Channel {
        Channel::new(topic.clone(), self.config.history)
    }

    pub fn remove(&self, topic: &Topic) {
        self.write().remove(topic);
    }

    /// Drops every topic idle for the configured time; returns how many went.
    pub fn drop_idle(&self) -> usize {
        self.sweep(&mut self.write(), false)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Topic, Arc<Channel>>> {
        self.map
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops the idle topics of `map` (write-locked by the caller); with `throttled`,
    /// only if the last sweep is a second old or more, since a sweep visits every topic
    /// however many requests are refused at the cap.
    fn sweep(&self, map: &mut HashMap<Topic, Arc<Channel>>, throttled: bool) -> usize {
        {
            let mut last = self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
            if throttled && last.elapsed() < Duration::from_secs(1) {
                return 0;
            }
            *last = Instant::now();
        }
        let before = map.len();
        let idle = self.config.topic_idle;
        map.retain(|_, channel| !channel.is_idle(idle));
        before - map.len()
    }
}
