namespace CachifyNet.Internal;

/// <summary>Binds a wrapper to its backend: resolves defaults and the keyspace once.</summary>
internal static class BindingFactory
{
    public static Binding<TKey, TArgs, TValue> Create<TKey, TArgs, TValue>(WrapperConfig config, Invoker<TArgs, TValue> invoker)
        where TKey : struct, IArgsKey<TKey>
    {
        var backend = config.Backend ?? config.Defaults.Backend;
        var services = backend.Services;
        var ttl = config.Ttl ?? config.Defaults.Ttl;
        var keyspace = backend.GetKeyspace<TKey, TValue>(config);
        var idle = config.IdleTimeout is { } idleTimeout ? services.ToTicks(idleTimeout) : long.MaxValue;
        return new Binding<TKey, TArgs, TValue>(keyspace, config, invoker, ttl, services.ToTicks(ttl), idle);
    }
}
