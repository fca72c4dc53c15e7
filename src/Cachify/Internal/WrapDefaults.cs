namespace CachifyNet.Internal;

/// <summary>Where a wrapper finds its TTL and backend when it does not set them itself.</summary>
internal abstract class WrapDefaults
{
    /// <summary>The TTL of wrappers that do not call <c>Ttl(...)</c>.</summary>
    public abstract TimeSpan Ttl { get; }

    /// <summary>The backend of wrappers that do not call <c>Backend(...)</c>.</summary>
    public abstract ICacheBackend Backend { get; }

    /// <summary>The defaults of the static <see cref="Cachify"/> entry point.</summary>
    public static WrapDefaults Static { get; } = new StaticDefaults();

    private sealed class StaticDefaults : WrapDefaults
    {
        public override TimeSpan Ttl => Cachify.DefaultTtl;

        public override ICacheBackend Backend => Cachify.DefaultBackend;
    }
}
