using CachifyNet.Internal;

namespace CachifyNet.Redis.Internal;

/// <summary>The binding and arguments a registration re-runs the function with (the core's never-die state, Redis flavour).</summary>
internal sealed class RedisNeverDieState<TKey, TArgs, TValue>(Binding<TKey, TArgs, TValue> binding, TArgs args) : NeverDieState<TKey, TValue>
    where TKey : struct, IArgsKey<TKey>
{
    public override Binding<TKey, TValue> Binding => binding;

    public override void StartRefresh(TKey key, ScheduledItem item)
        => ((RedisKeyspace<TKey, TValue>)binding.Keyspace).BeginRefresh(key, binding, args, (NeverDieRegistration<TKey, TValue>)item);
}
