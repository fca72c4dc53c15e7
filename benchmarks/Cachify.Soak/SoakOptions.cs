using System.Globalization;

namespace CachifyNet.Soak;

/// <summary>Command line of the soak run.</summary>
public sealed class SoakOptions
{
    public const string Usage = """
        Usage: dotnet run -c Release --project benchmarks/Cachify.Soak -- [options]
          --duration <d>       how long the load runs (e.g. 60s, 2m, 1h; default 60s)
          --workers <n>        load workers, half sync threads and half async tasks (default 8)
          --keys <n>           distinct keys per function (default 10000)
          --redis <cs>         also load a Redis backend at this StackExchange.Redis connection string (loopback only)
          --redis-local        also load a Redis backend on a redis-server started here on a free loopback port
          --kill-every <d>     with --redis-local: SIGKILL redis-server this often, restart it 5 s later (default 20s; 0 = never)
          --seed <n>           random seed (default 1)
        """;

    public TimeSpan Duration { get; private init; } = TimeSpan.FromSeconds(60);

    public int Workers { get; private init; } = 8;

    public int Keys { get; private init; } = 10_000;

    public string? RedisConnection { get; private init; }

    public bool RedisLocal { get; private init; }

    public TimeSpan KillEvery { get; private init; } = TimeSpan.FromSeconds(20);

    public int Seed { get; private init; } = 1;

    public bool UsesRedis => RedisConnection is not null || RedisLocal;

    public static SoakOptions Parse(string[] args)
    {
        var options = new SoakOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            options = args[i] switch
            {
                "--duration" => new SoakOptions(options) { Duration = ParseDuration(Next()) },
                "--workers" => new SoakOptions(options) { Workers = Math.Max(2, int.Parse(Next(), CultureInfo.InvariantCulture)) },
                "--keys" => new SoakOptions(options) { Keys = Math.Max(100, int.Parse(Next(), CultureInfo.InvariantCulture)) },
                "--redis" => new SoakOptions(options) { RedisConnection = Next() },
                "--redis-local" => new SoakOptions(options) { RedisLocal = true },
                "--kill-every" => new SoakOptions(options) { KillEvery = ParseDuration(Next()) },
                "--seed" => new SoakOptions(options) { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"Unknown option {args[i]}."),
            };
        }

        if (options.RedisConnection is not null && options.RedisLocal)
        {
            throw new ArgumentException("Use either --redis or --redis-local.");
        }

        return options;
    }

    public static TimeSpan ParseDuration(string text)
    {
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : text.EndsWith('h') ? (text[..^1], 3600.0)
            : (text, 1.0);
        return TimeSpan.FromSeconds(double.Parse(number, CultureInfo.InvariantCulture) * unit);
    }

    private SoakOptions()
    {
    }

    private SoakOptions(SoakOptions other)
    {
        Duration = other.Duration;
        Workers = other.Workers;
        Keys = other.Keys;
        RedisConnection = other.RedisConnection;
        RedisLocal = other.RedisLocal;
        KillEvery = other.KillEvery;
        Seed = other.Seed;
    }
}
