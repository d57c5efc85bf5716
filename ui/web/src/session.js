// Who is signed in: pages hide edit controls when canWrite is false (the
// API refuses those writes anyway).
export const session = { canWrite: true, username: '' };
