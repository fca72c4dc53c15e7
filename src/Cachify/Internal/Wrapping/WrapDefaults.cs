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
