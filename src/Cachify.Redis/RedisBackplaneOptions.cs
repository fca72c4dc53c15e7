using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;

namespace CachifyNet.Redis;

/// <summary>Options of a <see cref="RedisBackplane"/>. Validated when the backplane is created.</summary>
public sealed class RedisBackplaneOptions
{
    private readonly TimeProvider? _timeProvider;

    /// <summary>
    /// Gets the Redis pub/sub channel the backplane publishes on and listens to. Every process whose local copies must
    /// stay coherent uses the same channel; applications that share a Redis but not their entries use different ones.
    /// </summary>
    /// <value>The default is <c>"cachify:backplane"</c>. Must be non-empty, without white space or control characters.</value>
    public string Channel { get; init; } = "cachify:backplane";

    /// <summary>
    /// Gets the clock of the heartbeat: the backplane publishes its own heartbeat every 250 milliseconds of this clock,
    /// and reports the connection lost when none has come back for 1 second of it.
    /// </summary>
    /// <value>The default (also when set to null) is <see cref="System.TimeProvider.System"/>.</value>
    [AllowNull]
    public TimeProvider TimeProvider
    {
        get => _timeProvider ?? System.TimeProvider.System;
        init => _timeProvider = value;
    }

    /// <summary>Gets the factory of the logger (category "Cachify") that reports lost and restored connections and subscribers that threw.</summary>
    /// <value>The default is none (nothing is logged).</value>
    public ILoggerFactory? LoggerFactory { get; init; }
}
