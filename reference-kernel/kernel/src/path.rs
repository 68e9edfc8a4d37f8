//! Path-name parsing for the file system's name lookup (fs.rs's namex).
//! Pure, so it is unit-tested on the host.

use xv6fs::DIRSIZ;

/// Copy the next path element from path into name. Return the rest of the
/// path (with no leading slashes), so the caller can check whether it is
/// empty to see if the name is the last one. If there is no name to remove,
/// return None.
///
/// Examples:
///   skipelem("a/bb/c", name) = "bb/c", setting name = "a"
///   skipelem("///a//bb", name) = "bb", setting name = "a"
///   skipelem("a", name) = "", setting name = "a"
///   skipelem("", name) = skipelem("////", name) = None
pub fn skipelem<'p>(path: &'p [u8], name: &mut [u8; DIRSIZ]) -> Option<&'p [u8]> {
    let mut path = path;
    while let [b'/', rest @ ..] = path {
        path = rest;
    }
    if path.is_empty() {
        return None;
    }
    let len = path.iter().position(|&c| c == b'/').unwrap_or(path.len());
    let (elem, mut rest) = path.split_at(len);
    name.fill(0);
    let n = elem.len().min(DIRSIZ);
    name[..n].copy_from_slice(&elem[..n]);
    while let [b'/', r @ ..] = rest {
        rest = r;
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elem(path: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut name = [0u8; DIRSIZ];
        let rest = skipelem(path, &mut name)?;
        let len = name.iter().position(|&c| c == 0).unwrap_or(DIRSIZ);
        Some((name[..len].to_vec(), rest.to_vec()))
    }

    #[test]
    fn skipelem_splits_paths_like_xv6() {
        assert_eq!(elem(b"a/bb/c"), Some((b"a".to_vec(), b"bb/c".to_vec())));
        assert_eq!(elem(b"///a//bb"), Some((b"a".to_vec(), b"bb".to_vec())));
        assert_eq!(elem(b"a"), Some((b"a".to_vec(), b"".to_vec())));
        assert_eq!(elem(b"a/"), Some((b"a".to_vec(), b"".to_vec())));
        assert_eq!(elem(b""), None);
        assert_eq!(elem(b"////"), None);
    }

    #[test]
    fn skipelem_truncates_long_names_to_dirsiz() {
        let (name, rest) = elem(b"abcdefghijklmnopq/x").unwrap();
        assert_eq!(name, b"abcdefghijklmn".to_vec());
        assert_eq!(rest, b"x".to_vec());
    }
}
