using CachifyNet.Internal;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// This process's registration to refresh one never-die entry in Redis: one small record per key it wrote or read,
/// in the backend's scheduler. Dropped when the key is gone from Redis, on Invalidate or Clear, or when idle.
/// </summary>
internal sealed class RedisNeverDieItem<TKey, TValue> : ScheduledItem
    where TKey : struct, IArgsKey<TKey>
{
    public readonly TKey Key;
    public readonly NeverDieState<TKey, TValue> State;

    /// <summary>Set by readers; the scheduler turns it into <see cref="NeverDieState{TKey, TValue}.LastRead"/>.</summary>
    public bool Touched;

    /// <summary>Set when the registration is dropped; the scheduler then ignores it.</summary>
    public volatile bool Dead;

    private readonly RedisKeyspace<TKey, TValue> _keyspace;

    public RedisNeverDieItem(RedisKeyspace<TKey, TValue> keyspace, in TKey key, NeverDieState<TKey, TValue> state)
    {
        _keyspace = keyspace;
        Key = key;
        State = state;
    }

    internal override bool IsDead => Dead;

    internal override void OnDue() => _keyspace.OnNeverDieDue(this);
}

/// <summary>The binding and arguments a registration re-runs the function with (the core's never-die state, Redis flavour).</summary>
internal sealed class RedisNeverDieState<TKey, TArgs, TValue>(Binding<TKey, TArgs, TValue> binding, TArgs args) : NeverDieState<TKey, TValue>
    where TKey : struct, IArgsKey<TKey>
{
    public override Binding<TKey, TValue> Binding => binding;

    public override void StartRefresh(TKey key, ScheduledItem item)
        => ((RedisKeyspace<TKey, TValue>)binding.Keyspace).BeginRefresh(key, binding, args, (RedisNeverDieItem<TKey, TValue>)item);
}
