//! Disclosure control: which cells of a statistics table are hidden from a caller outside the
//! secretariat, so that no figure about fewer than `min_cell` people is published, directly or
//! by subtraction from the totals.
//!
//! The rule, applied to a table of `n` dimensions (each cell keyed by one value per dimension):
//!
//! 1. **Primary suppression.** A cell whose count is below `min_cell` is hidden; so is the
//!    grand total when its count is below `min_cell`. A count of zero is published: "nobody"
//!    reveals no one (and group-only volunteer hours, counting no mother, are no one's). With no dimension at all the single cell
//!    *is* the total and shares its fate.
//! 2. **Secondary suppression.** A *line* is the set of cells that agree on every dimension but
//!    one (a 1-D table is one line; a 2-D table has its rows and its columns). The line's total
//!    is published: it is the grand total of a 1-D table, and in more dimensions it is a cell
//!    of the table grouped by one dimension fewer, which any caller can ask for. A line holding
//!    exactly one hidden cell would give that cell away as `line total − published cells`, so
//!    another of its published cells is hidden too: preferably one that also closes another
//!    line holding a single hidden cell, then the smallest (by value, then count). Cells alone
//!    in some other line are taken last: their value is published anyway as that line's total.
//!    When a line of a 1-D table has no other cell to hide, the grand total is hidden instead.
//!    Hiding a cell can leave another line with a single hidden cell, so this repeats until
//!    nothing changes (a fixed point; it terminates because cells only ever become hidden).
//!
//! Invariants (unit-tested exhaustively on small tables below):
//! - no published cell and no published total has a count from 1 to `min_cell - 1`;
//! - every line with at least two cells holds either no hidden cell or at least two, so no
//!   hidden value equals a line total minus published values;
//! - a 1-D table whose only hidden cell has no partner hides its total;
//! - with no cell below `min_cell`, nothing is hidden.
//!
//! Known limits (the usual ones of this heuristic, documented rather than hidden): a cell alone
//! in a line equals that line's total in the table with one dimension fewer; when its count is
//! below `min_cell` that total is suppressed there by rule 1, but a cell hidden only by rule 2
//! and alone in a line is not protected against that other table. Tables are protected one at
//! a time; combining differently filtered tables (differencing attacks) is what
//! [`super::perturbation`] answers, with whole-month periods, for the same callers.
//! Dimensions whose cells overlap (a visit with several topics, a mother with several
//! languages) are not additive, so their line totals do not subtract; the rule still applies
//! and only over-protects them.

use std::collections::BTreeMap;
use std::hash::Hash;

/// One cell as the rule sees it: where it sits, how many people or items it counts (decides
/// primary suppression) and its published value (orders secondary suppression).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell<K> {
    pub key: Vec<K>,
    pub count: u64,
    pub value: f64,
}

/// What to hide: one flag per cell, in input order, and the grand total's flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub cells: Vec<bool>,
    pub total: bool,
}

impl Suppression {
    /// Nothing hidden: what the secretariat gets.
    pub fn none(cells: usize) -> Self {
        Self {
            cells: vec![false; cells],
            total: false,
        }
    }

    pub fn hidden_cells(&self) -> usize {
        self.cells.iter().filter(|h| **h).count()
    }
}

/// Applies the rule of the module documentation. Every cell must have the same number of key
/// parts, and keys must be distinct. The pattern depends on the cells, not on their order.
pub fn suppress<K: Ord + Hash + Clone>(
    cells: &[Cell<K>],
    total_count: u64,
    min_cell: u64,
) -> Suppression {
    let small = |count: u64| 0 < count && count < min_cell;
    let mut hidden: Vec<bool> = cells.iter().map(|c| small(c.count)).collect();
    let mut total = small(total_count);
    let dimensions = cells.first().map_or(0, |c| c.key.len());
    if dimensions == 0 {
        // The one cell is the total: publish both or neither.
        let either = total || hidden.iter().any(|h| *h);
        return Suppression {
            cells: vec![either; cells.len()],
            total: either,
        };
    }
    let table = Table::new(cells, dimensions);
    loop {
        let mut changed = false;
        for (n, line) in table.lines.iter().enumerate() {
            if table.hidden_in(line, &hidden) != 1 {
                continue;
            }
            match table.partner(n, &hidden) {
                Some(i) => hidden[i] = true,
                None if dimensions == 1 && !total => total = true,
                None => continue,
            }
            changed = true;
        }
        if !changed {
            return Suppression {
                cells: hidden,
                total,
            };
        }
    }
}

/// The lines of a table and, per cell, the lines through it.
struct Table<'c, K> {
    cells: &'c [Cell<K>],
    lines: Vec<Vec<usize>>,
    through: Vec<Vec<usize>>,
}

impl<'c, K: Ord + Hash + Clone> Table<'c, K> {
    /// Per dimension, the cells agreeing on every other dimension; ordered by key, so the
    /// same table always gets the same pattern.
    fn new(cells: &'c [Cell<K>], dimensions: usize) -> Self {
        let mut groups: BTreeMap<(usize, Vec<&K>), Vec<usize>> = BTreeMap::new();
        for (i, cell) in cells.iter().enumerate() {
            for free in 0..dimensions {
                let fixed: Vec<&K> = (0..dimensions)
                    .filter(|d| *d != free)
                    .map(|d| &cell.key[d])
                    .collect();
                groups.entry((free, fixed)).or_default().push(i);
            }
        }
        let lines: Vec<Vec<usize>> = groups.into_values().collect();
        let mut through = vec![Vec::new(); cells.len()];
        for (n, line) in lines.iter().enumerate() {
            for i in line {
                through[*i].push(n);
            }
        }
        Self {
            cells,
            lines,
            through,
        }
    }

    fn hidden_in(&self, line: &[usize], hidden: &[bool]) -> usize {
        line.iter().filter(|i| hidden[**i]).count()
    }

    /// Alone in some line: its value is that line's (published) total.
    fn exposed(&self, i: usize) -> bool {
        self.through[i].iter().any(|l| self.lines[*l].len() == 1)
    }

    /// Hiding it would also close a line other than `line` that holds a single hidden cell.
    fn closes_another(&self, i: usize, line: usize, hidden: &[bool]) -> bool {
        self.through[i]
            .iter()
            .any(|l| *l != line && self.hidden_in(&self.lines[*l], hidden) == 1)
    }

    /// The published cell of line `n` to hide next: not exposed if possible, one that closes
    /// a second line if possible, then the smallest value, count and key.
    fn partner(&self, n: usize, hidden: &[bool]) -> Option<usize> {
        let line = &self.lines[n];
        let rank = |i: usize| {
            (
                self.exposed(i),
                !self.closes_another(i, n, hidden),
                self.cells[i].value,
                self.cells[i].count,
                &self.cells[i].key,
            )
        };
        line.iter().copied().filter(|i| !hidden[*i]).min_by(|a, b| {
            let (ra, rb) = (rank(*a), rank(*b));
            (ra.0, ra.1)
                .cmp(&(rb.0, rb.1))
                .then(ra.2.total_cmp(&rb.2))
                .then(ra.3.cmp(&rb.3))
                .then(ra.4.cmp(rb.4))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 5;

    fn cell(key: &[u32], count: u64) -> Cell<u32> {
        Cell {
            key: key.to_vec(),
            count,
            value: count as f64,
        }
    }

    fn run(cells: &[Cell<u32>]) -> Suppression {
        let total = cells.iter().map(|c| c.count).sum();
        suppress(cells, total, MIN)
    }

    /// Every table over `shape` whose cells take counts from `counts` (0 = absent cell).
    fn tables(shape: &[u32], counts: &[u64]) -> Vec<Vec<Cell<u32>>> {
        let positions: Vec<Vec<u32>> = shape.iter().fold(vec![vec![]], |acc, size| {
            acc.into_iter()
                .flat_map(|p| {
                    (0..*size).map(move |i| {
                        let mut q = p.clone();
                        q.push(i);
                        q
                    })
                })
                .collect()
        });
        let mut out = Vec::new();
        let combinations = counts.len().pow(positions.len() as u32);
        for mut n in 0..combinations {
            let mut table = Vec::new();
            for position in &positions {
                let count = counts[n % counts.len()];
                n /= counts.len();
                if count > 0 {
                    table.push(cell(position, count));
                }
            }
            out.push(table);
        }
        out
    }

    /// The module's invariants, plus the attack they are about: recomputing a hidden cell as
    /// a line total minus the published cells of that line.
    fn check(table: &[Cell<u32>]) {
        let s = run(table);
        let total: u64 = table.iter().map(|c| c.count).sum();
        let dimensions = table.first().map_or(0, |c| c.key.len());
        for (c, hidden) in table.iter().zip(&s.cells) {
            assert!(*hidden || c.count >= MIN, "small cell published: {table:?}");
        }
        assert!(
            s.total || total >= MIN || total == 0,
            "small total published: {table:?}"
        );
        if table.iter().all(|c| c.count >= MIN) {
            assert_eq!(s.hidden_cells(), 0, "{table:?}");
        }
        for line in Table::new(table, dimensions.max(1))
            .lines
            .iter()
            .filter(|_| dimensions > 0)
        {
            let hidden: Vec<usize> = line.iter().copied().filter(|i| s.cells[*i]).collect();
            if line.len() >= 2 {
                assert_ne!(
                    hidden.len(),
                    1,
                    "line {line:?} gives a cell away: {table:?}"
                );
            }
            // The attacker's view of this line: its total (published elsewhere, or here for
            // a 1-D table unless hidden) minus every published cell.
            let line_total: u64 = line.iter().map(|i| table[*i].count).sum();
            let published: u64 = line
                .iter()
                .filter(|i| !s.cells[**i])
                .map(|i| table[*i].count)
                .sum();
            let total_known = dimensions > 1 || !s.total;
            if let ([only], true, true) = (hidden.as_slice(), total_known, line.len() >= 2) {
                assert_ne!(table[*only].count, line_total - published, "{table:?}");
            }
        }
        if dimensions == 1 && s.hidden_cells() == 1 {
            assert!(
                s.total,
                "a lone hidden cell of a 1-D table needs a hidden total"
            );
        }
    }

    #[test]
    fn no_dimension_publishes_the_cell_and_total_together() {
        let small = suppress(&[cell(&[], 3)], 3, MIN);
        assert_eq!(
            small,
            Suppression {
                cells: vec![true],
                total: true
            }
        );
        let large = suppress(&[cell(&[], 8)], 8, MIN);
        assert_eq!(large, Suppression::none(1));
    }

    #[test]
    fn a_lone_small_cell_in_one_dimension_takes_the_next_smallest_with_it() {
        let s = run(&[cell(&[0], 3), cell(&[1], 40), cell(&[2], 9), cell(&[3], 12)]);
        assert_eq!(s.cells, [true, false, true, false]);
        assert!(!s.total);
    }

    #[test]
    fn a_single_small_cell_hides_the_total() {
        let s = run(&[cell(&[0], 3)]);
        assert_eq!(
            s,
            Suppression {
                cells: vec![true],
                total: true
            }
        );
    }

    #[test]
    fn zero_is_published() {
        assert_eq!(suppress::<u32>(&[], 0, MIN), Suppression::none(0));
        let s = suppress(&[cell(&[], 0)], 0, MIN);
        assert_eq!(s, Suppression::none(1));
    }

    #[test]
    fn two_small_cells_need_nothing_more() {
        let s = run(&[cell(&[0], 3), cell(&[1], 2), cell(&[2], 9)]);
        assert_eq!(s.cells, [true, true, false]);
        assert!(!s.total);
    }

    #[test]
    fn a_two_dimensional_pattern_closes_rows_and_columns() {
        // Rows 0..3, columns 0..3; one small cell at (0, 0).
        let table = [
            cell(&[0, 0], 2),
            cell(&[0, 1], 9),
            cell(&[0, 2], 30),
            cell(&[1, 0], 8),
            cell(&[1, 1], 20),
            cell(&[1, 2], 7),
            cell(&[2, 0], 40),
            cell(&[2, 1], 6),
            cell(&[2, 2], 50),
        ];
        let s = run(&table);
        // Row 0 takes (0,1) = 9, column 0 takes (1,0) = 8; then row 1 and column 1 each hold
        // one hidden cell and close on (1,1) = 20.
        let hidden: Vec<&[u32]> = table
            .iter()
            .zip(&s.cells)
            .filter(|(_, h)| **h)
            .map(|(c, _)| c.key.as_slice())
            .collect();
        assert_eq!(hidden, [&[0, 0][..], &[0, 1], &[1, 0], &[1, 1]]);
        check(&table);
    }

    #[test]
    fn exposed_cells_are_taken_last() {
        // Column 1 holds only (0,1): its value is column 1's total, published elsewhere.
        let table = [
            cell(&[0, 0], 2),
            cell(&[0, 1], 6),
            cell(&[0, 2], 9),
            cell(&[1, 0], 7),
            cell(&[1, 2], 8),
        ];
        let s = run(&table);
        assert!(!s.cells[1], "(0,1) is taken last: {s:?}");
        assert!(s.cells[2], "(0,2) protects (0,0) in row 0: {s:?}");
        check(&table);
    }

    #[test]
    fn every_small_one_dimensional_table_is_protected() {
        for size in 1..=5 {
            for table in tables(&[size], &[0, 1, 4, 5, 9]) {
                check(&table);
            }
        }
    }

    #[test]
    fn every_small_two_dimensional_table_is_protected() {
        for shape in [[2, 2], [2, 3], [3, 3]] {
            for table in tables(&shape, &[0, 2, 5, 7]) {
                check(&table);
            }
        }
    }

    #[test]
    fn every_small_three_dimensional_table_is_protected() {
        for table in tables(&[2, 2, 2], &[0, 3, 6]) {
            check(&table);
        }
    }

    #[test]
    fn the_pattern_is_deterministic() {
        for table in tables(&[3, 3], &[0, 2, 7]).into_iter().take(500) {
            let mut reversed = table.clone();
            reversed.reverse();
            let forward = run(&table);
            let mut backward = run(&reversed);
            backward.cells.reverse();
            assert_eq!(forward, backward, "{table:?}");
        }
    }
}
