export default function Page() {
  return <h1>Evaluations</h1>;
}
