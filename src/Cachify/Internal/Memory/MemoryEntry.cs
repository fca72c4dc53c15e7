namespace CachifyNet.Internal;

/// <summary>
/// The bookkeeping of one cached value in memory: when it was stored, its place in the scheduler, its
/// never-die state. The value itself sits in the front dictionary's node (<see cref="Slot{TKey, TValue}"/>),
/// so a hit reads no entry at all. A refresh or a skip-cache call stores a new entry rather than
/// changing this one. The entry is also its own <see cref="Microsoft.Extensions.Caching.Memory.IMemoryCache"/> key and value.
/// </summary>
internal sealed class MemoryEntry<TKey, TValue> : ScheduledItem
    where TKey : struct, IArgsKey<TKey>
{
    public readonly Binding<TKey, TValue> Writer;
    public readonly TKey Key;
    public readonly long CreatedAt;
    public readonly NeverDieState<TKey, TValue>? NeverDie;

    /// <summary>Past its TTL but kept as a stale value for soft timeouts (its slot no longer names a writer).</summary>
    public volatile bool Stale;

    /// <summary>Set when the entry left the front for good.</summary>
    public volatile bool Removed;

    /// <summary>Set when a newer entry replaced this one: no longer scheduled.</summary>
    public volatile bool Retired;

    /// <summary>Set by readers of never-die entries with an idle limit; turned into <see cref="NeverDieState{TKey, TValue}.LastRead"/> when due.</summary>
    public bool Touched;

    /// <summary>The completed task handed to async callers, created at the first async hit.</summary>
    public Task<TValue>? Task;

    public MemoryEntry(Binding<TKey, TValue> writer, in TKey key, long createdAt, NeverDieState<TKey, TValue>? neverDie)
    {
        Writer = writer;
        Key = key;
        CreatedAt = createdAt;
        NeverDie = neverDie;
    }

    internal override bool IsDead => Removed || Retired;

    internal override void OnDue() => ((MemoryKeyspace<TKey, TValue>)Writer.Keyspace).OnDue(this);
}

/// <summary>
/// What the front dictionary holds per key: the value, the binding that wrote it (null once the entry is
/// only a stale value) and the entry's bookkeeping. Slots compare by entry, so a removal or replacement
/// only ever touches the entry it means.
/// </summary>
internal readonly struct Slot<TKey, TValue>(TValue value, Binding<TKey, TValue>? writer, MemoryEntry<TKey, TValue> entry) : IEquatable<Slot<TKey, TValue>>
    where TKey : struct, IArgsKey<TKey>
{
    public readonly TValue Value = value;
    public readonly Binding<TKey, TValue>? Writer = writer;
    public readonly MemoryEntry<TKey, TValue> Entry = entry;

    /// <summary>A slot that only identifies <paramref name="entry"/> (for removals, which compare by entry).</summary>
    public static Slot<TKey, TValue> Of(MemoryEntry<TKey, TValue> entry) => new(default!, null, entry);

    public bool Equals(Slot<TKey, TValue> other) => ReferenceEquals(Entry, other.Entry);

    public override bool Equals(object? obj) => obj is Slot<TKey, TValue> other && Equals(other);

    public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Entry);
}
