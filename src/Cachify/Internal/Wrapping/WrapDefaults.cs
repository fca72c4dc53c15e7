namespace CachifyNet.Internal;

/// <summary>Where a wrapper finds its TTL and backend when it does not set them itself.</summary>
internal abstract class WrapDefaults
{
    /// <summary>The TTL of wrappers that do not call <c>Ttl(...)</c>.</summary>
    public abstract TimeSpan Ttl { get; }

    /// <summary>The backend of wrappers that do not call <c>Backend(...)</c>.</summary>
    public abstract ICacheBackend Backend { get; }

    /// <summary>The service lifetimes of the container the wrapper was made from (<c>AddCachify</c>'s <see cref="ICachify"/>); null elsewhere.</summary>
    public virtual DependencyInjection.ServiceLifetimes? Lifetimes => null;

    /// <summary>The defaults of the static <see cref="Cachify"/> entry point.</summary>
    public static WrapDefaults Static { get; } = new StaticDefaults();

    /// <summary>The defaults of an <see cref="ICachify"/> instance, read at each wrapper's first call.</summary>
    public static WrapDefaults For(ICachify cachify)
    {
        ArgumentNullException.ThrowIfNull(cachify);
        return new InstanceDefaults(cachify);
    }

    /// <summary>
    /// <paramref name="current"/>'s TTL (and service lifetimes) with the backend <paramref name="backend"/> returns, called at
    /// each first call of a wrapper (<c>Backend(Func&lt;ICacheBackend&gt;)</c>). Replaces an earlier backend function, never
    /// stacks on it.
    /// </summary>
    public static WrapDefaults WithBackend(WrapDefaults current, Func<ICacheBackend> backend)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(backend);
        return new ResolvedDefaults(current is ResolvedDefaults resolved ? resolved.Source : current, backend);
    }

    /// <summary>The defaults of a wrapper whose backend comes from a function (<c>Backend(Func&lt;ICacheBackend&gt;)</c>).</summary>
    private sealed class ResolvedDefaults(WrapDefaults source, Func<ICacheBackend> backend) : WrapDefaults
    {
        /// <summary>Where the TTL and service lifetimes still come from (the static <see cref="Cachify"/> or an <see cref="ICachify"/>).</summary>
        public WrapDefaults Source => source;

        public override TimeSpan Ttl => source.Ttl;

        public override ICacheBackend Backend => backend() ?? throw new InvalidOperationException(
            "The function given to Backend(Func<ICacheBackend>) returned null, so the cached function has no backend. " +
            "Return the backend to use (such as a MemoryCacheBackend, or the one your setup created), or throw an exception that says how to set one up.");

        public override DependencyInjection.ServiceLifetimes? Lifetimes => source.Lifetimes;
    }

    private sealed class InstanceDefaults(ICachify cachify) : WrapDefaults
    {
        public override TimeSpan Ttl => cachify.DefaultTtl;

        public override ICacheBackend Backend => cachify.Backend;

        public override DependencyInjection.ServiceLifetimes? Lifetimes => (cachify as DependencyInjection.CachifyFactory)?.Lifetimes;
    }

    private sealed class StaticDefaults : WrapDefaults
    {
        public override TimeSpan Ttl => Cachify.DefaultTtl;

        public override ICacheBackend Backend => Cachify.DefaultBackend;
    }
}
