//! Retention: which blocks to delete by age and by total size. Only whole blocks are deleted.

/// What retention needs to know of a block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockInfo {
    pub min_time: i64,
    pub max_time: i64,
    pub bytes: u64,
}

/// The limits; `None` disables one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Maximum age in ms of a block's newest sample relative to the newest data.
    pub time: Option<i64>,
    /// Maximum bytes of blocks plus `other_bytes`.
    pub size: Option<u64>,
}

/// Indices of the blocks to delete. A block goes by age when all of it is older than
/// `newest - time`; by size, the oldest blocks go until the total fits.
pub(crate) fn blocks_to_delete(
    blocks: &[BlockInfo],
    policy: Policy,
    newest: Option<i64>,
    other_bytes: u64,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|&i| (blocks[i].min_time, blocks[i].max_time));
    let mut doomed = vec![false; blocks.len()];
    if let (Some(time), Some(newest)) = (policy.time, newest) {
        let cutoff = newest.saturating_sub(time);
        for &i in &order {
            if blocks[i].max_time <= cutoff {
                doomed[i] = true;
            }
        }
    }
    if let Some(limit) = policy.size {
        let mut total: u64 = other_bytes
            + order
                .iter()
                .filter(|&&i| !doomed[i])
                .map(|&i| blocks[i].bytes)
                .sum::<u64>();
        for &i in &order {
            if total <= limit {
                break;
            }
            if !doomed[i] {
                doomed[i] = true;
                total = total.saturating_sub(blocks[i].bytes);
            }
        }
    }
    order.into_iter().filter(|&i| doomed[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(min: i64, max: i64, bytes: u64) -> BlockInfo {
        BlockInfo {
            min_time: min,
            max_time: max,
            bytes,
        }
    }

    #[test]
    fn deletes_by_age() {
        let blocks = [block(0, 10, 1), block(10, 20, 1), block(20, 30, 1)];
        let policy = Policy {
            time: Some(15),
            size: None,
        };
        assert_eq!(blocks_to_delete(&blocks, policy, Some(30), 0), vec![0]);
        assert_eq!(blocks_to_delete(&blocks, policy, Some(35), 0), vec![0, 1]);
        assert!(blocks_to_delete(&blocks, policy, None, 0).is_empty());
    }

    #[test]
    fn deletes_oldest_by_size() {
        let blocks = [block(20, 30, 100), block(0, 10, 100), block(10, 20, 100)];
        let policy = Policy {
            time: None,
            size: Some(250),
        };
        assert_eq!(blocks_to_delete(&blocks, policy, Some(30), 0), vec![1]);
        assert_eq!(blocks_to_delete(&blocks, policy, Some(30), 60), vec![1, 2]);
    }
}
