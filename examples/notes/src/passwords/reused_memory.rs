//! argon2id hashing and checking in a memory block each hashing thread
//! keeps, instead of a fresh 19 MiB allocation per hash. Freed, such a
//! block is not given back to the system (the allocator raises its mmap
//! threshold after the first one) and the next one often does not fit in
//! its place: each thread came to hold about three (64 sign-ins on 2
//! threads peaked at 130 MiB). Reused, a thread holds one, as big as the
//! largest hash it has checked.
//!
//! The PHC strings are the ones `argon2`'s `PasswordHasher` writes and its
//! `PasswordVerifier` checks (the tests below hold both sides to that).

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The algorithm and version new hashes use.
pub const ALGORITHM: Algorithm = Algorithm::Argon2id;
pub const VERSION: Version = Version::V0x13;

thread_local! {
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's first `blocks` memory blocks.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        f(&mut memory[..blocks])
    })
}

/// The PHC string for `password` with `params` and a fresh random salt.
pub fn hash(params: &Params, password: &[u8]) -> Result<String, String> {
    let mut salt = [0u8; argon2::RECOMMENDED_SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| format!("random salt: {e}"))?;
    let argon2 = Argon2::new(ALGORITHM, VERSION, params.clone());
    let mut output = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    with_memory(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(password, &salt, &mut output, memory)
    })
    .map_err(|e| e.to_string())?;
    let hash = PasswordHash {
        algorithm: ALGORITHM.ident(),
        version: Some(VERSION.into()),
        params: ParamsString::try_from(params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&output).map_err(|e| e.to_string())?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc`, with the algorithm,
/// version, parameters and salt written in it. `false` for a string that
/// is not an argon2 hash.
pub fn verify(phc: &str, password: &[u8]) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut output = vec![0u8; expected.len()];
    let computed = with_memory(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(password, salt, &mut output, memory)
    });
    // `Output`'s equality takes the same time wherever the bytes differ.
    computed.is_ok() && Output::new(&output).is_ok_and(|output| output == *expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    fn params(m_cost: u32) -> Params {
        Params::new(m_cost, 1, 1, None).unwrap()
    }

    #[test]
    fn hashes_are_the_ones_argon2_writes_and_checks() {
        let ours = hash(&params(1024), b"correct horse").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{ours}");
        let library = Argon2::new(ALGORITHM, VERSION, params(1024));
        assert!(library
            .verify_password(b"correct horse", ours.as_str())
            .is_ok());
        assert!(library
            .verify_password(b"wrong horse", ours.as_str())
            .is_err());

        let theirs = library.hash_password(b"correct horse").unwrap().to_string();
        assert!(verify(&theirs, b"correct horse"));
        assert!(!verify(&theirs, b"wrong horse"));
    }

    #[test]
    fn each_hash_is_checked_with_its_own_parameters() {
        // A hash made with another cost, algorithm and version (the settings
        // changed since) still checks, in the same reused memory.
        let older = Argon2::new(Algorithm::Argon2i, Version::V0x10, params(2048))
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        assert!(verify(&hash(&params(1024), b"x").unwrap(), b"x"));
        assert!(verify(&older, b"correct horse"));
        assert!(!verify(&older, b"correct horsf"));
        assert!(verify(&hash(&params(512), b"y").unwrap(), b"y"));
    }

    #[test]
    fn strings_that_are_not_hashes_never_match() {
        for phc in [
            "",
            "plain",
            "$argon2id$v=19$m=1024,t=1,p=1$",
            "$md5$abc$def",
        ] {
            assert!(!verify(phc, b""), "{phc}");
        }
    }
}
