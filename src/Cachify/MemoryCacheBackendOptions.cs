using Microsoft.Extensions.Logging;

namespace CachifyNet;

/// <summary>Options of a <see cref="MemoryCacheBackend"/>.</summary>
public sealed class MemoryCacheBackendOptions
{
    /// <summary>Gets the clock that drives TTL expiry and never-die refreshes.</summary>
    /// <value>The default is <see cref="System.TimeProvider.System"/>. Tests pass a <c>FakeTimeProvider</c>.</value>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>
    /// Gets the size every entry declares to the <see cref="Microsoft.Extensions.Caching.Memory.IMemoryCache"/>,
    /// which counts it against <see cref="Microsoft.Extensions.Caching.Memory.MemoryCacheOptions.SizeLimit"/>.
    /// </summary>
    /// <value>The default is 1 (the size limit is then a number of entries). Must be positive.</value>
    public long EntrySize { get; init; } = 1;

    /// <summary>Gets the factory of the logger that reports refresh failures.</summary>
    /// <value>The default is none (nothing is logged).</value>
    public ILoggerFactory? LoggerFactory { get; init; }
}
