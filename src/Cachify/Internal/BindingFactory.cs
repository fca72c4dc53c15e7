namespace CachifyNet.Internal;

/// <summary>Binds a wrapper to its backend: resolves defaults and the keyspace once, at the wrapper's first call.</summary>
internal static class BindingFactory
{
    /// <summary>
    /// Reads the defaults the wrapper does not override (TTL, backend) and gets its keyspace. Called at the first call
    /// (or Invalidate/Clear), never at wrap time, so defaults set after a wrapper was created still apply to it.
    /// </summary>
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

    /// <summary>
    /// Throws now what binding to the explicit backend would throw later (a key the backend cannot store, a disposed
    /// backend), without reading any default.
    /// </summary>
    public static void Check<TKey, TValue>(WrapperConfig config)
        where TKey : struct, IArgsKey<TKey>
        => _ = config.Backend!.GetKeyspace<TKey, TValue>(config);
}
