namespace CachifyNet.Internal;

/// <summary>
/// One cached result in memory. Immutable but for its flags: a refresh or a skip-cache call replaces
/// the entry object, so readers never see a half-written value (results may be large structs).
/// The entry is also its own <see cref="Microsoft.Extensions.Caching.Memory.IMemoryCache"/> key and value.
/// </summary>
internal sealed class MemoryEntry<TKey, TValue> : ScheduledItem
    where TKey : struct, IArgsKey<TKey>
{
    public readonly Binding<TKey, TValue> Writer;
    public readonly TKey Key;
    public readonly TValue Value;
    public readonly long CreatedAt;
    public readonly NeverDieState<TKey, TValue>? NeverDie;

    /// <summary>Set at TTL (or eviction, invalidation): readers treat the entry as missing from then on.</summary>
    public volatile bool Expired;

    /// <summary>Set when the entry left the front for good (an expired entry may stay as a stale value until then).</summary>
    public volatile bool Removed;

    /// <summary>Set when a newer entry replaced this one: still a valid value, but no longer scheduled.</summary>
    public volatile bool Retired;

    /// <summary>Set by readers of never-die entries; the scheduler turns it into <see cref="NeverDieState{TKey, TValue}.LastRead"/>.</summary>
    public bool Touched;

    /// <summary>The completed task handed to async callers, created at the first async hit.</summary>
    public Task<TValue>? Task;

    public MemoryEntry(Binding<TKey, TValue> writer, in TKey key, TValue value, long createdAt, NeverDieState<TKey, TValue>? neverDie)
    {
        Writer = writer;
        Key = key;
        Value = value;
        CreatedAt = createdAt;
        NeverDie = neverDie;
    }

    internal override bool IsDead => Removed || Retired;

    internal override void OnDue() => ((MemoryKeyspace<TKey, TValue>)Writer.Keyspace).OnDue(this);
}
