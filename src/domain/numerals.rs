//! Digits in and out, shared by money and dates: folding the full-width
//! characters phone keyboards type (`３，５００`, `￥`) into ASCII before
//! parsing, and writing whole numbers without the formatting machinery
//! (they are written for every row of every rendered plan).

/// Full-width ASCII variants, the full-width yen, pound and won signs and
/// the ideographic space, as their ordinary forms; everything else unchanged.
pub fn fold_width(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{FFE5}' => '¥',
            '\u{FFE1}' => '£',
            '\u{FFE6}' => '₩',
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// Appends `n` in decimal, with a comma between groups of three digits when `grouped`.
pub fn push_unsigned(out: &mut String, mut n: u128, grouped: bool) {
    let mut digits = [0u8; 40];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        out.push(char::from(digits[i]));
        if grouped && i > 0 && i % 3 == 0 {
            out.push(',');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_phone_keyboard_digits() {
        assert_eq!(fold_width("３，５００．５０　元￥"), "3,500.50 元¥");
        assert_eq!(fold_width("￡１２"), "£12");
    }

    #[test]
    fn writes_numbers_with_and_without_groups() {
        for (n, plain, grouped) in
            [(0u128, "0", "0"), (999, "999", "999"), (1000, "1000", "1,000"), (1234567, "1234567", "1,234,567")]
        {
            let (mut a, mut b) = (String::new(), String::new());
            push_unsigned(&mut a, n, false);
            push_unsigned(&mut b, n, true);
            assert_eq!((a.as_str(), b.as_str()), (plain, grouped));
        }
    }
}
