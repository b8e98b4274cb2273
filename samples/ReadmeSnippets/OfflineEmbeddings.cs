// dotnet add package RactoGateway.Redis.Embeddings   (all-MiniLM-L6-v2 on ONNX Runtime; the model is in the package)
using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using RactoGateway.Redis.Embeddings;

namespace ReadmeSnippets;

/// <summary>README.md, "Offline embeddings": the snippet verbatim; it has no free variables.</summary>
internal static class OfflineEmbeddings
{
    public static async Task RunAsync()
    {
using var embedder = new MiniLMEmbeddingGenerator();           // or: services.AddMiniLMEmbeddingGenerator()
GeneratedEmbeddings<Embedding<float>> e = await embedder.GenerateAsync(["My dog is called Biscuit.", "What is my dog's name?"]);
float cosine = TensorPrimitives.Dot(e[0].Vector.Span, e[1].Vector.Span);   // unit vectors: the dot product is the cosine
    }
}
