namespace CachifyNet.Internal;

/// <summary>
/// Binds wrappers to their backend: resolves defaults and the keyspace at a wrapper's first call. Wrappers with the
/// same settings share one binding (kept in their <see cref="WrapperConfig"/>), so a wrapper made inline at every
/// call binds at the cost of two reads, and entries never point at the delegate that wrote them.
/// </summary>
internal static class BindingFactory
{
    /// <summary>The backend a wrapper uses now: its own, else its defaults' (read at each first call, never at wrap time).</summary>
    public static ICacheBackend BackendOf(WrapperConfig config) => config.Backend ?? config.Defaults.Backend;

    /// <summary>
    /// Whether the wrapper's keys are text: <c>KeyBy</c>, or (on backends that key by typed values) an argument keyed
    /// by content. Backends that write every key as text (Redis) take typed keys and write them themselves.
    /// </summary>
    public static bool UsesTextKeys(WrapperConfig config, ICacheBackend backend)
        => config.KeyBy is not null || (!backend.Services.WritesKeysAsText && config.UsesTextKey);

    /// <summary>
    /// The binding of wrappers with <paramref name="config"/> on <paramref name="backend"/>: the shared one when it was
    /// made with the same backend and TTL, else a new one. Throws what the backend refuses (a key it cannot store).
    /// </summary>
    public static Binding<TKey, TArgs, TValue> Create<TKey, TArgs, TValue>(WrapperConfig config, ICacheBackend backend, Invoker<TArgs, TValue> invoker, bool text)
        where TKey : struct, IArgsKey<TKey>
    {
        var services = backend.Services;
        var ttl = config.Ttl ?? config.Defaults.Ttl;
        var shared = text ? Volatile.Read(ref config.TextBinding) : Volatile.Read(ref config.TypedBinding);
        if (shared is Binding<TKey, TArgs, TValue> known && ReferenceEquals(known.Keyspace.Services, services) && known.Ttl == ttl && !services.IsDisposed)
        {
            return known;
        }

        var keyspace = backend.GetKeyspace<TKey, TValue>(config);
        var idle = config.IdleTimeout is { } idleTimeout ? services.ToTicks(idleTimeout) : long.MaxValue;
        var binding = new Binding<TKey, TArgs, TValue>(keyspace, config, invoker, ttl, services.ToTicks(ttl), idle);
        if (text)
        {
            Volatile.Write(ref config.TextBinding, binding);
        }
        else
        {
            Volatile.Write(ref config.TypedBinding, binding);
        }

        return binding;
    }
}
