//! Label sets.

/// The metric-name label.
pub const NAME: &str = "__name__";

/// A label set sorted by name (byte order, as Prometheus sorts it), names
/// unique, no empty values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Builds a set from pairs in any order; empty values are dropped (in
    /// PromQL an empty label is an absent one) and a later duplicate wins.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Labels {
        let mut v: Vec<(String, String)> = Vec::new();
        for (k, val) in pairs {
            if let Some(slot) = v.iter_mut().find(|p| p.0 == k) {
                slot.1 = val;
            } else {
                v.push((k, val));
            }
        }
        v.retain(|p| !p.1.is_empty());
        v.sort();
        Labels(v)
    }

    /// The pairs, sorted by name.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The value of `name`, empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|p| p.0 == name)
            .map(|p| p.1.as_str())
            .unwrap_or("")
    }

    /// Sets `name` (an empty value removes it).
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|p| p.0.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].1 = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, (name.to_string(), value.to_string())),
        }
    }

    /// Without the metric name.
    pub fn without_name(&self) -> Labels {
        Labels(self.0.iter().filter(|p| p.0 != NAME).cloned().collect())
    }

    /// Only the named labels.
    pub fn keep(&self, names: &[String]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|p| names.contains(&p.0))
                .cloned()
                .collect(),
        )
    }

    /// Without the named labels.
    pub fn drop_names(&self, names: &[String]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|p| !names.contains(&p.0))
                .cloned()
                .collect(),
        )
    }

    /// `{a="x", b="y"}` with the name in front, as Prometheus prints a series.
    pub fn display(&self) -> String {
        let name = self.get(NAME);
        let rest: Vec<String> = self
            .0
            .iter()
            .filter(|p| p.0 != NAME)
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        format!("{name}{{{}}}", rest.join(", "))
    }
}
