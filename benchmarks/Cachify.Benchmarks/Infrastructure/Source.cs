using System.ComponentModel;
using System.Globalization;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>A record argument, compared by value.</summary>
public sealed record UserQuery(int Id, string Region);

/// <summary>
/// A record result. Marked immutable so HybridCache keeps the instance in memory instead of serializing it
/// (its documented advice), so every cache hands back the same object, as Cachify does.
/// </summary>
[ImmutableObject(true)]
public sealed record Profile(int Id, string Region, string DisplayName);

/// <summary>
/// The functions being cached. Each run counts itself, so a setup can prove that the measured calls are hits.
/// </summary>
public static class Source
{
    private static long _executions;

    /// <summary>How many times any function here has run (misses only: a hit never gets here).</summary>
    public static long Executions => Interlocked.Read(ref _executions);

    public static int Answer()
    {
        Interlocked.Increment(ref _executions);
        return 4242;
    }

    public static int Square(int id)
    {
        Interlocked.Increment(ref _executions);
        return id * id;
    }

    public static string Describe(int id, string region, Guid tenant)
    {
        Interlocked.Increment(ref _executions);
        return string.Create(CultureInfo.InvariantCulture, $"{id}@{region}/{tenant:N}");
    }

    public static Profile LoadProfile(UserQuery query)
    {
        Interlocked.Increment(ref _executions);
        return new Profile(query.Id, query.Region, string.Create(CultureInfo.InvariantCulture, $"User {query.Id} ({query.Region})"));
    }

    /// <summary>Throws when a benchmark would measure the wrong thing (a miss, a wrong value).</summary>
    public static void Expect<T>(T actual, T expected, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(actual, expected))
        {
            throw new InvalidOperationException($"{what}: expected {expected}, got {actual}.");
        }
    }
}
