namespace CachifyNet;

/// <summary>
/// The injectable entry point: <c>cachify.Wrap(function)</c> (see <see cref="CachifyExtensions"/>) returns a
/// cached function that uses this instance's TTL and backend. Register it with
/// <c>services.AddCachify(...)</c>; the static <see cref="Cachify"/> keeps working without dependency injection.
/// </summary>
public interface ICachify
{
    /// <summary>Gets the TTL of wrappers that do not call <c>Ttl(...)</c>.</summary>
    TimeSpan DefaultTtl { get; }

    /// <summary>Gets the backend of wrappers that do not call <c>Backend(...)</c>.</summary>
    ICacheBackend Backend { get; }
}
