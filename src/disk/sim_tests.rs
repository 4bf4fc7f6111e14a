use super::*;

#[test]
fn unsynced_writes_are_lost_on_crash() -> Result<(), StorageError> {
    let mut d = SimDisk::new();
    d.write("a", b"one")?;
    d.sync_all();
    d.write("a", b"two")?;
    d.append("b", b"xy")?;
    assert_eq!(d.read("a")?, Some(b"two".to_vec()));
    assert_eq!(d.unsynced_bytes(), 5);
    let loss = d.crash();
    assert_eq!(
        loss,
        CrashLoss {
            files_reverted: 2,
            bytes_lost: 5
        }
    );
    assert_eq!(d.read("a")?, Some(b"one".to_vec()));
    assert_eq!(d.read("b")?, None);
    assert!(d.take_effects().is_empty(), "no rule, no effect");
    Ok(())
}

#[test]
fn synced_appends_survive() -> Result<(), StorageError> {
    let mut d = SimDisk::new();
    d.append("log", b"ab")?;
    d.append("log", b"cd")?;
    d.complete_sync()?;
    assert_eq!(d.crash(), CrashLoss::default());
    assert_eq!(d.read("log")?, Some(b"abcd".to_vec()));
    Ok(())
}

#[test]
fn a_torn_append_keeps_whole_sectors_of_the_tail() -> Result<(), StorageError> {
    let mut d = SimDisk::new();
    d.append("log", b"durable")?;
    d.sync_all();
    d.append("log", &[7u8; 5 * SECTOR_BYTES + 3])?;
    d.add_rule(DiskRule::TornWrite);
    d.crash();
    let after = d.read("log")?.unwrap_or_default();
    assert!(after.starts_with(b"durable"));
    let kept = after.len() - b"durable".len();
    assert!(kept > 0 && kept < 5 * SECTOR_BYTES + 3 && kept.is_multiple_of(SECTOR_BYTES));
    let effects = d.take_effects();
    assert!(
        matches!(&effects[..], [DiskEffect::TornWrite { bytes_kept, .. }] if *bytes_kept == kept as u64)
    );
    // The tear is durable now: a second crash changes nothing.
    d.crash();
    assert_eq!(d.read("log")?.map(|v| v.len()), Some(after.len()));
    Ok(())
}

#[test]
fn a_replaced_file_never_tears() -> Result<(), StorageError> {
    let mut d = SimDisk::new();
    d.write("f", &[1u8; 4 * SECTOR_BYTES])?;
    d.sync_all();
    d.write("f", &[2u8; 3 * SECTOR_BYTES])?;
    d.add_rule(DiskRule::TornWrite);
    d.crash();
    assert_eq!(
        d.read("f")?,
        Some(vec![1u8; 4 * SECTOR_BYTES]),
        "old or new, never a mix"
    );
    assert!(d.take_effects().is_empty());
    Ok(())
}

#[test]
fn a_write_of_one_sector_cannot_tear() -> Result<(), StorageError> {
    let mut d = SimDisk::new();
    d.append("f", b"short")?;
    d.add_rule(DiskRule::TornWrite);
    d.crash();
    assert_eq!(d.read("f")?, None);
    assert!(d.take_effects().is_empty());
    Ok(())
}

#[test]
fn a_failed_sync_drops_the_writes_even_if_a_later_sync_succeeds() -> Result<(), StorageError> {
    let mut d = SimDisk::new();
    d.write("a", b"old")?;
    d.sync_all();
    d.write("a", b"new")?;
    d.add_rule(DiskRule::FsyncFail);
    assert!(matches!(
        d.complete_sync(),
        Err(StorageError::SyncFailed { .. })
    ));
    d.end_rule(DiskRule::FsyncFail);
    d.complete_sync()?;
    assert_eq!(d.read("a")?, Some(b"old".to_vec()));
    assert_eq!(
        d.take_effects(),
        vec![DiskEffect::SyncFailed { bytes_dropped: 3 }]
    );
    Ok(())
}

#[test]
fn a_lying_sync_loses_at_the_next_crash_unless_an_honest_sync_saves_it() -> Result<(), StorageError>
{
    let mut d = SimDisk::new();
    d.add_rule(DiskRule::LostSync);
    d.write("a", b"one")?;
    d.complete_sync()?;
    d.crash();
    assert_eq!(d.read("a")?, None, "the lie is found out at the crash");
    d.write("a", b"two")?;
    d.complete_sync()?;
    d.end_rule(DiskRule::LostSync);
    d.complete_sync()?;
    d.crash();
    assert_eq!(d.read("a")?, Some(b"two".to_vec()));
    assert_eq!(d.take_effects().len(), 2);
    Ok(())
}

#[test]
fn a_full_disk_refuses_writes_as_values() -> Result<(), StorageError> {
    let mut d = SimDisk::new();
    d.write("a", b"x")?;
    d.add_rule(DiskRule::Full);
    assert!(matches!(
        d.write("a", b"y"),
        Err(StorageError::NoSpace { .. })
    ));
    assert!(matches!(
        d.append("a", b"y"),
        Err(StorageError::NoSpace { .. })
    ));
    assert_eq!(d.read("a")?, Some(b"x".to_vec()));
    d.clear_rules();
    d.append("a", b"y")?;
    assert_eq!(d.take_effects().len(), 2);
    Ok(())
}

#[test]
fn slow_rules_stack_to_the_slowest() {
    let mut d = SimDisk::new();
    assert_eq!(d.sync_extra_ms(), 0);
    d.add_rule(DiskRule::Slow { delay_ms: 30 });
    d.add_rule(DiskRule::Slow { delay_ms: 80 });
    assert_eq!(d.sync_extra_ms(), 80);
    d.end_rule(DiskRule::Slow { delay_ms: 80 });
    assert_eq!(d.sync_extra_ms(), 30);
}

#[test]
fn corruption_flips_one_durable_bit() -> Result<(), StorageError> {
    let mut d = SimDisk::new();
    d.write("a", &[0u8; 4])?;
    d.sync_all();
    assert!(d.corrupt("a", 9));
    assert_eq!(d.read("a")?, Some(vec![0, 2, 0, 0]));
    assert!(!d.corrupt("a", 32), "past the end");
    assert!(!d.corrupt("missing", 0));
    assert_eq!(d.durable_files(), vec![("a".to_string(), 4)]);
    // Unsynced appends do not hide it, and a later sync does not repair it.
    d.append("a", b"zz")?;
    assert!(d.corrupt("a", 0));
    d.complete_sync()?;
    assert_eq!(d.read("a")?, Some(vec![1, 2, 0, 0, b'z', b'z']));
    // A replaced file shows (and after its sync keeps) the new content.
    d.write("a", b"new!")?;
    assert!(d.corrupt("a", 0));
    d.complete_sync()?;
    assert_eq!(d.read("a")?, Some(b"new!".to_vec()));
    Ok(())
}
