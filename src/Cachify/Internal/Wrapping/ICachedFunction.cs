namespace CachifyNet.Internal;

/// <summary>Marks Cachify's wrappers, so wrapping a cached function again is refused with a clear message.</summary>
internal interface ICachedFunction;
