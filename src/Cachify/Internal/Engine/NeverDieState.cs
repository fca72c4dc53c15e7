namespace CachifyNet.Internal;

/// <summary>
/// What a never-die entry needs to refresh itself: the binding and the arguments of the call that
/// wrote it, plus the failure count for back-off and the last time it was read (for the idle limit).
/// One small record per live entry; it goes away with the entry.
/// </summary>
internal abstract class NeverDieState<TKey, TValue>
    where TKey : struct, IArgsKey<TKey>
{
    /// <summary>Consecutive failed refreshes; reset by a success.</summary>
    public int Failures;

    /// <summary>Clock ticks of the last known read (approximate: taken when the entry is due).</summary>
    public long LastRead;

    public abstract Binding<TKey, TValue> Binding { get; }

    public abstract void StartRefresh(TKey key, ScheduledItem item);

    /// <summary>Clock ticks until the next attempt after <see cref="Failures"/> failures: TTL × 1.25ⁿ, at most 10 × TTL.</summary>
    public long RetryDelay() => RetryDelay(Failures);

    /// <summary>Clock ticks until the next attempt after <paramref name="failures"/> failures.</summary>
    public long RetryDelay(int failures)
    {
        var factor = Math.Min(Math.Pow(1.25, failures), 10.0);
        return (long)Math.Min(Binding.TtlTicks * factor, long.MaxValue / 4.0);
    }
}

internal sealed class NeverDieState<TKey, TArgs, TValue>(Binding<TKey, TArgs, TValue> binding, TArgs args) : NeverDieState<TKey, TValue>
    where TKey : struct, IArgsKey<TKey>
{
    public override Binding<TKey, TValue> Binding => binding;

    public override void StartRefresh(TKey key, ScheduledItem item) => binding.Keyspace.StartRefresh(key, binding, args, item);
}
