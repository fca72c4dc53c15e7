namespace CachifyNet;

/// <summary>Options of the <see cref="ICachify"/> registered by <c>services.AddCachify(...)</c>.</summary>
public sealed class CachifyOptions
{
    /// <summary>Gets or sets the TTL of wrappers that do not call <c>Ttl(...)</c>.</summary>
    /// <value>The default is 300 seconds. Must be positive and at most 365 days (validated at start-up).</value>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>Gets or sets the size each memory entry counts against the app's <c>MemoryCacheOptions.SizeLimit</c>.</summary>
    /// <value>The default is 1. Must be positive (validated at start-up).</value>
    public long MemoryEntrySize { get; set; } = 1;
}
